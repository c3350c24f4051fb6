package awssim

import "strings"

// SuspendProcesses and ResumeProcesses.

// Auto Scaling over the AWS Query protocol: form parameters in
// (AutoScalingGroupNames.member.1, MixedInstancesPolicy.InstancesDistribution.…),
// XML out (<AutoScalingGroups><member>…), member names as in the SDK's
// schemas. Handlers run with s.mu held.

// scalingProcesses are the suspendable processes.
var scalingProcesses = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
	"HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

// processesParam reads the group and ScalingProcesses (none = all) of
// SuspendProcesses and ResumeProcesses.
func (s *Sim) processesParam(r *request) (*Group, []string, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	procs := q.List("ScalingProcesses")
	if apiErr := q.Err(); apiErr != nil {
		return nil, nil, apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if len(procs) == 0 {
		return g, scalingProcesses, nil
	}
	valid := map[string]bool{}
	for _, v := range scalingProcesses {
		valid[v] = true
	}
	var bad []string
	for _, v := range procs {
		if !valid[v] {
			bad = append(bad, v)
		}
	}
	if len(bad) > 0 {
		return nil, nil, validationError("Process type(s) %s is/are not valid", strings.Join(bad, ", "))
	}
	return g, procs, nil
}

func (s *Sim) suspendProcesses(r *request) (any, *APIError) {
	g, procs, apiErr := s.processesParam(r)
	if apiErr != nil {
		return nil, apiErr
	}
	reason := "User suspended at " + asgTime(s.clock.Now())
	for _, proc := range procs {
		if _, ok := g.SuspendedProcesses[proc]; !ok {
			g.SuspendedProcesses[proc] = reason
		}
	}
	return nil, nil
}

func (s *Sim) resumeProcesses(r *request) (any, *APIError) {
	g, procs, apiErr := s.processesParam(r)
	if apiErr != nil {
		return nil, apiErr
	}
	for _, proc := range procs {
		delete(g.SuspendedProcesses, proc)
	}
	return nil, nil
}
