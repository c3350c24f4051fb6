package awssim

import (
	"encoding/xml"
	"fmt"
	"time"
)

// EC2 DescribeInstanceStatus: the instance and system status checks. They
// read "initializing" from when an instance is running until
// Options.StatusCheckDelay has passed, then "ok" (reachability passed).

type statusDetailXML struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type statusSummaryXML struct {
	Status  string            `xml:"status"`
	Details []statusDetailXML `xml:"details>item,omitempty"`
}

type instanceStatusXML struct {
	InstanceID       string           `xml:"instanceId"`
	AvailabilityZone string           `xml:"availabilityZone"`
	InstanceState    instanceStateXML `xml:"instanceState"`
	SystemStatus     statusSummaryXML `xml:"systemStatus"`
	InstanceStatus   statusSummaryXML `xml:"instanceStatus"`
}

// statusCheckLocked is the status both checks report for inst: ok,
// initializing, or not-applicable when the instance is not running.
func (s *Sim) statusCheckLocked(inst *Instance, now time.Time) string {
	switch {
	case inst.State != "running":
		return "not-applicable"
	case s.impaired[inst.ID]:
		return "impaired"
	case now.Before(inst.runningAt.Add(s.opts.StatusCheckDelay)):
		return "initializing"
	default:
		return "ok"
	}
}

func statusSummary(status string) statusSummaryXML {
	detail := map[string]string{"ok": "passed", "initializing": "initializing", "impaired": "failed"}[status]
	if detail == "" {
		return statusSummaryXML{Status: status}
	}
	return statusSummaryXML{Status: status, Details: []statusDetailXML{{Name: "reachability", Status: detail}}}
}

func instanceStatusField(now time.Time, s *Sim) ec2FieldFunc[*Instance] {
	return func(inst *Instance, name string) ([]string, bool) {
		if inst == nil {
			inst = &Instance{}
		}
		switch name {
		case "instance-status.status", "system-status.status":
			return []string{s.statusCheckLocked(inst, now)}, true
		case "instance-status.reachability", "system-status.reachability":
			return []string{map[string]string{"ok": "passed", "initializing": "initializing", "impaired": "failed"}[s.statusCheckLocked(inst, now)]}, true
		case "instance-id", "instance-state-name", "instance-state-code", "availability-zone":
			return instanceField(inst, name)
		}
		return nil, false
	}
}

// describeInstanceStatus follows EC2: only running instances unless
// IncludeAllInstances; InstanceId.N (unknown ids fail) or filters;
// MaxResults (5–1000) and NextToken, not together with instance ids.
func (s *Sim) describeInstanceStatus(r *request) (any, *APIError) {
	now := s.clock.Now()
	ids := ec2List(r.Params, "InstanceId")
	if len(ids) > 0 && r.Params.Get("MaxResults") != "" {
		return nil, errf("InvalidParameterCombination", 400, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if len(ids) > 100 {
		return nil, errf("InvalidParameterValue", 400, "The maximum number of instance IDs is 100")
	}
	var insts []*Instance
	if len(ids) > 0 {
		var apiErr *APIError
		if insts, apiErr = s.instancesByIDLocked(ids); apiErr != nil {
			return nil, apiErr
		}
	} else {
		insts = make([]*Instance, 0, len(s.instances))
		for _, inst := range s.instances {
			insts = append(insts, inst)
		}
	}
	if !ec2Bool(r.Params, "IncludeAllInstances") {
		running := insts[:0:0]
		for _, inst := range insts {
			if inst.State == "running" {
				running = append(running, inst)
			}
		}
		insts = running
	}
	insts, apiErr := ec2ApplyFilters(insts, ec2Filters(r.Params), func(*Instance) map[string]string { return nil }, instanceStatusField(now, s))
	if apiErr != nil {
		return nil, apiErr
	}
	insts, next, apiErr := ec2Page(r.Params, insts, func(i *Instance) string { return i.ID }, 5, 1000)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name            `xml:"result"`
		Statuses  []instanceStatusXML `xml:"instanceStatusSet>item"`
		NextToken string              `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, inst := range insts {
		st := s.statusCheckLocked(inst, now)
		out.Statuses = append(out.Statuses, instanceStatusXML{
			InstanceID: inst.ID, AvailabilityZone: inst.AZ,
			InstanceState: instanceStateXML{ec2StateCodes[inst.State], inst.State},
			SystemStatus:  statusSummary(st), InstanceStatus: statusSummary(st),
		})
	}
	return out, nil
}

// SetStatusCheckDelay sets how long after an instance is running its
// status checks pass (Options.StatusCheckDelay), for every instance from
// now on, those already running included.
func (s *Sim) SetStatusCheckDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.StatusCheckDelay = max(d, 0)
}

// StatusOKAt is when the instance's status checks pass (or passed): the
// time it runs plus the current StatusCheckDelay; false for an unknown
// instance.
func (s *Sim) StatusOKAt(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil {
		return time.Time{}, false
	}
	return inst.runningAt.Add(s.opts.StatusCheckDelay), true
}

// SetStatusImpaired makes an instance's status checks fail ("impaired")
// or, with false, follow StatusCheckDelay again. Only DescribeInstanceStatus
// changes: the group does not replace the instance on its own.
func (s *Sim) SetStatusImpaired(id string, impaired bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instances[id] == nil {
		return fmt.Errorf("awssim: no instance %s", id)
	}
	if s.impaired == nil {
		s.impaired = map[string]bool{}
	}
	if impaired {
		s.impaired[id] = true
	} else {
		delete(s.impaired, id)
	}
	return nil
}
