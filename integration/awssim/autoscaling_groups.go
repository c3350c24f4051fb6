package awssim

import "fmt"

// Create, update and delete Auto Scaling groups.

func groupNotFound(name string) *APIError {
	return validationError("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
}

// groupLocked is the live group called name.
func (s *Sim) groupLocked(name string) (*Group, *APIError) {
	g := s.groups[name]
	if g == nil || g.Status != "" {
		return nil, groupNotFound(name)
	}
	return g, nil
}

// groupParamLocked reads the required AutoScalingGroupName of a call
// without other parameters of its own and resolves the group.
func (s *Sim) groupParamLocked(q *params) (*Group, *APIError) {
	name := q.Required("AutoScalingGroupName")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	return s.groupLocked(name)
}

func sizeError(minSize, maxSize, desired int) *APIError {
	if minSize > maxSize {
		return validationError("Max bound, %d, must be greater than or equal to min bound, %d", maxSize, minSize)
	}
	if desired < minSize || desired > maxSize {
		return validationError("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)
	}
	return nil
}

func (s *Sim) createAutoScalingGroup(r *request) (any, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	minSize := q.RequiredInt("MinSize")
	maxSize := q.RequiredInt("MaxSize")
	desired, okDesired := q.Int("DesiredCapacity")
	spec, hasLT := ltSpecParam(q, "LaunchTemplate")
	hasMixed := q.Has("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId") ||
		q.Has("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName")
	type tag struct {
		key, value string
		propagate  bool
	}
	members := q.Members("Tags")
	tags := make([]tag, 0, len(members))
	for _, m := range members {
		propagate, _ := q.Bool(m + "PropagateAtLaunch")
		tags = append(tags, tag{q.Required(m + "Key"), q.Str(m + "Value"), propagate})
	}
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	if s.groups[name] != nil {
		return nil, errf("AlreadyExists", 400, "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	if !okDesired {
		desired = minSize
	}
	if apiErr := sizeError(minSize, maxSize, desired); apiErr != nil {
		return nil, apiErr
	}
	now := s.clock.Now()
	g := &Group{
		Name: name, MinSize: minSize, MaxSize: maxSize, Desired: desired,
		SuspendedProcesses: map[string]string{}, Tags: map[string]string{}, PropagateAtLaunch: map[string]bool{},
		DefaultCooldown: 300, HealthCheckType: "EC2", HealthCheckGrace: 0, DesiredCapacityType: "units",
		TerminationPolicies: []string{"Default"}, CreatedTime: now,
		members: map[string]*Instance{}, launchTokens: map[string]any{}, protectedNoticeFor: -1,
	}
	g.ARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", s.opts.Region, s.opts.AccountID, s.newRequestID(), name)

	switch {
	case hasLT && hasMixed, !hasLT && !hasMixed:
		return nil, validationError("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	case hasLT:
		spec, apiErr := s.checkLaunchTemplateLocked(spec)
		if apiErr != nil {
			return nil, apiErr
		}
		g.LaunchTemplate = &spec
	default:
		m, apiErr := s.applyMixedParams(q, nil)
		if apiErr != nil {
			return nil, apiErr
		}
		g.Mixed = m
	}

	azs, subnets, set, apiErr := s.zonesParamsLocked(q)
	if apiErr != nil {
		return nil, apiErr
	}
	if !set {
		return nil, validationError("At least one Availability Zone or VPC Subnet is required.")
	}
	g.AvailabilityZones, g.SubnetIDs = azs, subnets
	if apiErr := s.applyGroupOptions(g, q); apiErr != nil {
		return nil, apiErr
	}
	for _, t := range tags {
		g.Tags[t.key] = t.value
		g.PropagateAtLaunch[t.key] = t.propagate
	}
	s.groups[name] = g
	return nil, nil
}

// applyGroupOptions applies the optional scalar settings shared by Create
// and Update.
func (s *Sim) applyGroupOptions(g *Group, q *params) *APIError {
	if v, ok := q.Bool("NewInstancesProtectedFromScaleIn"); ok {
		g.NewInstancesProtectedFromScaleIn = v
	}
	if v, ok := q.Bool("CapacityRebalance"); ok {
		g.CapacityRebalance = v
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"DefaultCooldown", &g.DefaultCooldown}, {"HealthCheckGracePeriod", &g.HealthCheckGrace}, {"MaxInstanceLifetime", &g.MaxInstanceLifetime}} {
		if n, ok := q.Int(f.name); ok {
			*f.dst = n
		}
	}
	if v := q.Str("HealthCheckType"); v != "" {
		g.HealthCheckType = v
	}
	if v := q.Str("DesiredCapacityType"); v != "" {
		if v != "units" && v != "vcpu" && v != "memory-mib" {
			return validationError("Valid values for DesiredCapacityType are: units, vcpu, memory-mib.")
		}
		g.DesiredCapacityType = v
	}
	if l := q.List("TerminationPolicies"); len(l) > 0 {
		g.TerminationPolicies = l
	}
	// InstanceLifecyclePolicy: what an abandoned termination hook does.
	switch v := q.Str("InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon"); v {
	case "":
	case "retain", "terminate":
		g.retainOnAbandon = v == "retain"
	default:
		return validationError("Valid values for TerminateHookAbandon are: retain, terminate.")
	}
	return q.Err()
}

func (s *Sim) updateAutoScalingGroup(r *request) (any, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	minSize, okMin := q.Int("MinSize")
	maxSize, okMax := q.Int("MaxSize")
	desired, okDesired := q.Int("DesiredCapacity")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, apiErr
	}
	if !okMin {
		minSize = g.MinSize
	}
	if !okMax {
		maxSize = g.MaxSize
	}
	if !okDesired {
		// AWS: a new min/max alone implicitly moves desired into range.
		desired = min(max(g.Desired, minSize), maxSize)
	}
	if apiErr := sizeError(minSize, maxSize, desired); apiErr != nil {
		return nil, apiErr
	}

	// Validate everything before changing anything.
	var lt *LaunchTemplateSpec
	if spec, ok := ltSpecParam(q, "LaunchTemplate"); ok {
		spec, apiErr := s.checkLaunchTemplateLocked(spec)
		if apiErr != nil {
			return nil, apiErr
		}
		lt = &spec
	}
	var mixed *MixedPolicy
	if q.HasPrefix("MixedInstancesPolicy") {
		base := g.Mixed
		if base == nil && g.LaunchTemplate != nil {
			base = &MixedPolicy{LaunchTemplate: *g.LaunchTemplate,
				Distribution: Distribution{OnDemandPercentageAboveBaseCapacity: 100, OnDemandAllocationStrategy: "prioritized", SpotAllocationStrategy: "lowest-price"}}
		}
		m, apiErr := s.applyMixedParams(q, base)
		if apiErr != nil {
			return nil, apiErr
		}
		mixed = m
	}
	azs, subnets, zonesSet, apiErr := s.zonesParamsLocked(q)
	if apiErr != nil {
		return nil, apiErr
	}
	cp := *g
	if apiErr := s.applyGroupOptions(&cp, q); apiErr != nil {
		return nil, apiErr
	}

	*g = cp
	g.MinSize, g.MaxSize, g.Desired = minSize, maxSize, desired
	if lt != nil {
		g.LaunchTemplate, g.Mixed = lt, nil
	}
	if mixed != nil {
		g.Mixed, g.LaunchTemplate = mixed, nil
	}
	if zonesSet {
		g.AvailabilityZones, g.SubnetIDs = azs, subnets
	}
	return nil, nil
}

func (s *Sim) deleteAutoScalingGroup(r *request) (any, *APIError) {
	q := newParams(r.Params)
	name := q.Required("AutoScalingGroupName")
	force, _ := q.Bool("ForceDelete")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(name)
	if apiErr != nil {
		return nil, apiErr
	}
	if !force {
		for _, inst := range g.members {
			if inst.Lifecycle != "Detached" {
				return nil, errf("ResourceInUse", 400, "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance requests in the group.")
			}
		}
		delete(s.groups, g.Name)
		return nil, nil
	}
	now := s.clock.Now()
	g.Desired, g.MinSize = 0, 0
	for _, inst := range g.members {
		s.terminateLocked(inst, "Client.UserInitiatedShutdown", fmt.Sprintf("At %s an instance was taken out of service in response to a user request to delete the group.", asgTime(now)))
	}
	g.Status = "Delete in progress"
	if len(g.members) == 0 {
		delete(s.groups, g.Name)
	}
	return nil, nil
}
