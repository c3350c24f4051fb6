package awssim

import (
	"fmt"
	"strings"
)

// Desired capacity, terminating members and scale-in protection.

func (s *Sim) setDesiredCapacity(r *request) (any, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	n := q.RequiredInt("DesiredCapacity")
	q.Bool("HonorCooldown") // accepted; cooldowns are not modelled
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, apiErr
	}
	if n > g.MaxSize {
		return nil, validationError("New SetDesiredCapacity value %d is above max value %d", n, g.MaxSize)
	}
	if n < g.MinSize {
		return nil, validationError("New SetDesiredCapacity value %d is below min value %d", n, g.MinSize)
	}
	g.Desired = n
	return nil, nil
}

type terminateResult struct {
	Activity   *xmlActivity  `xml:",omitempty"`
	Activities []xmlActivity `xml:"Activities>member"`
}

func (s *Sim) terminateInstanceInAutoScalingGroup(r *request) (any, *APIError) {
	q := newParams(r.Params)
	ids := q.List("InstanceIds")
	single := q.Str("InstanceId")
	groupName := q.Str("AutoScalingGroupName")
	if mode := s.opts.TerminateBatch; mode != "" {
		// An endpoint that predates the batch form knows neither InstanceIds
		// nor AutoScalingGroupName: it sees no instance id at all.
		ids, groupName = nil, ""
		if single == "" && mode == TerminateBatchServerError {
			return nil, &APIError{Code: "InternalFailure", Message: "An internal error occurred.", Status: 500}
		}
	}
	if single != "" {
		ids = append([]string{single}, ids...)
	}
	if len(ids) == 0 {
		q.Required("InstanceId") // neither form names an instance
	}
	decrement := q.RequiredBool("ShouldDecrementDesiredCapacity")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	if len(ids) > 100 {
		return nil, validationError("The number of instance IDs must not exceed 100.")
	}

	// Validate all first so a batch fails as a whole.
	insts := make([]*Instance, 0, len(ids))
	for _, id := range ids {
		inst := s.instances[id]
		var g *Group
		if inst != nil {
			g = s.groups[inst.Group]
		}
		if g == nil || g.members[id] == nil || inst.Lifecycle == "Detached" || (groupName != "" && g.Name != groupName) {
			return nil, validationError("Instance Id not found - No managed instance found for instance ID: %s", id)
		}
		if strings.HasPrefix(inst.Lifecycle, "Warmed:") {
			return nil, validationError("The instance %s is in a warm pool and can't be terminated.", id)
		}
		insts = append(insts, inst)
	}
	if decrement {
		dec := map[*Group]int{}
		for _, inst := range insts {
			if !strings.HasPrefix(inst.Lifecycle, "Terminat") && inst.State != "shutting-down" && inst.State != "terminated" {
				dec[s.groups[inst.Group]] += max(inst.WeightedCapacity, 1)
			}
		}
		for g, w := range dec {
			if g.Desired-w < g.MinSize {
				return nil, validationError("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.MinSize)
			}
		}
	}
	now := s.clock.Now()
	out := &terminateResult{}
	for _, inst := range insts {
		g := s.groups[inst.Group]
		var a *Activity
		// A retained instance stays (and bills) until this very call
		// terminates it; it no longer fills desired capacity.
		// (Still booting too: a launch held by a terminate hook and
		// abandoned is retained pending, then runs.)
		retained := inst.Lifecycle == "Terminating:Retained" && (inst.State == "running" || inst.State == "pending")
		if !retained && (strings.HasPrefix(inst.Lifecycle, "Terminat") || inst.State == "shutting-down" || inst.State == "terminated") {
			a = inst.termActivity
		} else {
			w := max(inst.WeightedCapacity, 1)
			cause := fmt.Sprintf("At %s instance %s was taken out of service in response to a user request.", asgTime(now), inst.ID)
			if decrement && !retained {
				cause = fmt.Sprintf("At %s instance %s was taken out of service in response to a user request, shrinking the capacity from %d to %d.", asgTime(now), inst.ID, g.Desired, g.Desired-w)
				g.Desired -= w
			}
			if retained {
				// Retained after an abandoned hook: terminated now (whether
				// AWS runs the hook again is unverified).
				a = s.terminateLocked(inst, "Client.UserInitiatedShutdown", cause)
			} else {
				a = s.asgTerminateLocked(inst, cause)
			}
		}
		if a == nil { // label set by SetLifecycleState: synthesise one
			a = s.addActivityLocked(g, "Terminating EC2 instance: "+inst.ID, fmt.Sprintf("At %s instance %s was taken out of service in response to a user request.", asgTime(now), inst.ID), inst)
			a.StatusCode, a.Progress = "InProgress", 0
			inst.termActivity = a
		}
		x := activityXML(a)
		out.Activities = append(out.Activities, x)
		if inst.ID == single && out.Activity == nil {
			out.Activity = &x
		}
	}
	if single == "" {
		// The batch form returns Activities only.
		return struct {
			Activities []xmlActivity `xml:"Activities>member"`
		}{out.Activities}, nil
	}
	out.Activities = nil
	return out, nil
}

func (s *Sim) setInstanceProtection(r *request) (any, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	ids := q.List("InstanceIds")
	protect := q.RequiredBool("ProtectedFromScaleIn")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(ids) > 50 {
		return nil, validationError("The number of instance IDs must not exceed 50.")
	}
	for _, id := range ids {
		inst := g.members[id]
		if inst == nil || inst.Lifecycle == "Detached" {
			return nil, validationError("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		if strings.HasPrefix(inst.Lifecycle, "Terminat") {
			return nil, validationError("The instance %s is not in InService or EnteringStandby or Standby.", id)
		}
	}
	for _, id := range ids {
		g.members[id].ProtectedFromScaleIn = protect
	}
	return nil, nil
}
