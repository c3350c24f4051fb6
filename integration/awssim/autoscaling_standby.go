package awssim

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Operator actions on group instances, as an operator (or another tool)
// would take them outside the plugin: DescribeAutoScalingInstances,
// SetInstanceHealth, DetachInstances, EnterStandby, ExitStandby. They
// produce the lifecycle states a plugin has to tolerate.

// standbyExitDelay is how long an instance leaving standby stays Pending.
const standbyExitDelay = 5 * time.Second

type xmlASGInstanceDetails struct {
	InstanceId           string
	InstanceType         string
	AutoScalingGroupName string
	AvailabilityZone     string
	AvailabilityZoneId   string `xml:",omitempty"`
	LifecycleState       string
	HealthStatus         string
	LaunchTemplate       *xmlLTSpec `xml:",omitempty"`
	ProtectedFromScaleIn bool
	WeightedCapacity     string `xml:",omitempty"`
}

// managedLocked returns the group instance id, or nil.
func (s *Sim) managedLocked(id string) *Instance {
	inst := s.instances[id]
	if inst == nil {
		return nil
	}
	g := s.groups[inst.Group]
	if g == nil || g.members[id] == nil || inst.Lifecycle == "Detached" {
		return nil
	}
	return inst
}

func (s *Sim) describeAutoScalingInstances(r *request) (any, *APIError) {
	q := newParams(r.Params)
	pg := pageParams(q, 50, 50)
	ids := q.List("InstanceIds")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	after, apiErr := pg.after()
	if apiErr != nil {
		return nil, apiErr
	}
	var insts []*Instance
	if len(ids) > 0 {
		if len(ids) > 50 {
			return nil, validationError("The number of instance IDs must not exceed 50.")
		}
		for _, id := range ids {
			if inst := s.managedLocked(id); inst != nil {
				insts = append(insts, inst)
			}
		}
	} else {
		for _, g := range s.groups {
			for _, inst := range g.members {
				if inst.Lifecycle != "Detached" {
					insts = append(insts, inst)
				}
			}
		}
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	out := struct {
		AutoScalingInstances []xmlASGInstanceDetails `xml:"AutoScalingInstances>member"`
		NextToken            string                  `xml:",omitempty"`
	}{}
	for _, inst := range insts {
		if after != "" && inst.ID <= after {
			continue
		}
		if len(out.AutoScalingInstances) == pg.limit {
			out.NextToken = encodeToken(out.AutoScalingInstances[pg.limit-1].InstanceId)
			break
		}
		x := xmlASGInstanceDetails{
			InstanceId: inst.ID, InstanceType: inst.InstanceType, AutoScalingGroupName: inst.Group, AvailabilityZone: inst.AZ,
			// This API spells health in capitals, unlike DescribeAutoScalingGroups.
			LifecycleState: inst.Lifecycle, HealthStatus: strings.ToUpper(inst.Health), LaunchTemplate: ltXML(inst.LaunchTemplate),
			ProtectedFromScaleIn: inst.ProtectedFromScaleIn, WeightedCapacity: fmt.Sprint(max(inst.WeightedCapacity, 1)),
		}
		if z := s.zoneLocked(inst.AZ); z != nil {
			x.AvailabilityZoneId = z.ID
		}
		out.AutoScalingInstances = append(out.AutoScalingInstances, x)
	}
	return out, nil
}

func (s *Sim) setInstanceHealth(r *request) (any, *APIError) {
	q := newParams(r.Params)
	id := q.Required("InstanceId")
	status := q.Required("HealthStatus")
	q.Bool("ShouldRespectGracePeriod") // grace periods are not modelled
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	if status != "Healthy" && status != "Unhealthy" {
		return nil, validationError("Valid values for HealthStatus are: Healthy, Unhealthy.")
	}
	inst := s.managedLocked(id)
	if inst == nil {
		return nil, validationError("Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	inst.Health = status
	return nil, nil
}

// instancesActionLocked validates InstanceIds of group g for an operator
// action allowed only in one of the given lifecycle states.
func (s *Sim) instancesActionLocked(g *Group, ids []string, allowed ...string) ([]*Instance, *APIError) {
	if len(ids) == 0 {
		return nil, validationError("1 validation error detected: Value null at 'instanceIds' failed to satisfy constraint: Member must not be null")
	}
	if len(ids) > 20 {
		return nil, validationError("The number of instance IDs must not exceed 20.")
	}
	out := make([]*Instance, 0, len(ids))
	for _, id := range ids {
		inst := g.members[id]
		if inst == nil || inst.Lifecycle == "Detached" {
			return nil, validationError("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		if !contains(allowed, inst.Lifecycle) {
			return nil, validationError("The instance %s is not in %s.", id, strings.Join(allowed, " or "))
		}
		out = append(out, inst)
	}
	return out, nil
}

// decrementLocked lowers desired by the instances' weight, refusing to go
// below MinSize like AWS.
func decrementLocked(g *Group, insts []*Instance) (from, to int, apiErr *APIError) {
	w := 0
	for _, inst := range insts {
		w += max(inst.WeightedCapacity, 1)
	}
	if g.Desired-w < g.MinSize {
		return 0, 0, validationError("Currently, desiredSize equals minSize (%d). Decrementing desired capacity by %d will violate group's min size constraint.", g.MinSize, w)
	}
	from = g.Desired
	g.Desired -= w
	return from, g.Desired, nil
}

// operatorActionLocked reads what DetachInstances and EnterStandby share:
// the group, its instances in one of the allowed states, and the optional
// desired-capacity decrement (applied here), returned as the suffix of the
// activity cause.
func (s *Sim) operatorActionLocked(p url.Values, allowed ...string) (*Group, []*Instance, string, *APIError) {
	q := newParams(p)
	name := q.Required("AutoScalingGroupName")
	decrement := q.RequiredBool("ShouldDecrementDesiredCapacity")
	ids := q.List("InstanceIds")
	if apiErr := q.Err(); apiErr != nil {
		return nil, nil, "", apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, nil, "", apiErr
	}
	insts, apiErr := s.instancesActionLocked(g, ids, allowed...)
	if apiErr != nil {
		return nil, nil, "", apiErr
	}
	suffix := "."
	if decrement {
		from, to, apiErr := decrementLocked(g, insts)
		if apiErr != nil {
			return nil, nil, "", apiErr
		}
		suffix = fmt.Sprintf(", shrinking the capacity from %d to %d.", from, to)
	}
	return g, insts, suffix, nil
}

func (s *Sim) detachInstances(r *request) (any, *APIError) {
	_, insts, suffix, apiErr := s.operatorActionLocked(r.Params, "InService", "Standby", "Pending")
	if apiErr != nil {
		return nil, apiErr
	}
	now := s.clock.Now()
	out := struct {
		Activities []xmlActivity `xml:"Activities>member"`
	}{}
	for _, inst := range insts {
		a := s.detachLocked(inst, fmt.Sprintf("At %s instance %s was detached in response to a user request%s", asgTime(now), inst.ID, suffix))
		out.Activities = append(out.Activities, activityXML(a))
	}
	return out, nil
}

func (s *Sim) enterStandby(r *request) (any, *APIError) {
	g, insts, suffix, apiErr := s.operatorActionLocked(r.Params, "InService")
	if apiErr != nil {
		return nil, apiErr
	}
	now := s.clock.Now()
	out := struct {
		Activities []xmlActivity `xml:"Activities>member"`
	}{}
	for _, inst := range insts {
		inst.Lifecycle = "Standby"
		a := s.addActivityLocked(g, "Moving EC2 instance to Standby: "+inst.ID,
			fmt.Sprintf("At %s instance %s was moved to standby in response to a user request%s", asgTime(now), inst.ID, suffix), inst)
		out.Activities = append(out.Activities, activityXML(a))
	}
	return out, nil
}

func (s *Sim) exitStandby(r *request) (any, *APIError) {
	q := newParams(r.Params)
	ids := q.List("InstanceIds")
	g, apiErr := s.groupParamLocked(q)
	if apiErr != nil {
		return nil, apiErr
	}
	insts, apiErr := s.instancesActionLocked(g, ids, "Standby")
	if apiErr != nil {
		return nil, apiErr
	}
	w := 0
	for _, inst := range insts {
		w += max(inst.WeightedCapacity, 1)
	}
	if g.Desired+w > g.MaxSize {
		return nil, validationError("Exiting standby would increase the desired capacity to %d, above the group's max size %d.", g.Desired+w, g.MaxSize)
	}
	now := s.clock.Now()
	from := g.Desired
	g.Desired += w
	out := struct {
		Activities []xmlActivity `xml:"Activities>member"`
	}{}
	for _, inst := range insts {
		inst.Lifecycle = "Pending"
		inst.inServiceAt = now.Add(standbyExitDelay)
		inst.launchActivity = nil
		a := s.addActivityLocked(g, "Moving EC2 instance out of Standby: "+inst.ID,
			fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request, increasing the capacity from %d to %d.", asgTime(now), inst.ID, from, g.Desired), inst)
		out.Activities = append(out.Activities, activityXML(a))
	}
	return out, nil
}
