package awssim

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Auto Scaling over the AWS Query protocol: form parameters in
// (AutoScalingGroupNames.member.1, MixedInstancesPolicy.InstancesDistribution.…),
// XML out (<AutoScalingGroups><member>…), member names as in the SDK's
// schemas. Handlers run with s.mu held.

func init() {
	for action, h := range map[string]handler{
		"CreateAutoScalingGroup":              (*Sim).createAutoScalingGroup,
		"UpdateAutoScalingGroup":              (*Sim).updateAutoScalingGroup,
		"DeleteAutoScalingGroup":              (*Sim).deleteAutoScalingGroup,
		"DescribeAutoScalingGroups":           (*Sim).describeAutoScalingGroups,
		"SetDesiredCapacity":                  (*Sim).setDesiredCapacity,
		"TerminateInstanceInAutoScalingGroup": (*Sim).terminateInstanceInAutoScalingGroup,
		"SetInstanceProtection":               (*Sim).setInstanceProtection,
		"SuspendProcesses":                    (*Sim).suspendProcesses,
		"ResumeProcesses":                     (*Sim).resumeProcesses,
		"DescribeScalingActivities":           (*Sim).describeScalingActivities,
		"DescribePolicies":                    (*Sim).describePolicies,
		"PutScalingPolicy":                    (*Sim).putScalingPolicy,
		"DeletePolicy":                        (*Sim).deletePolicy,
		"LaunchInstances":                     (*Sim).launchInstances,
	} {
		register(svcAutoScaling, action, h)
	}
}

// scalingProcesses are the suspendable processes.
var scalingProcesses = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
	"HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

// ---- parameter helpers ----

func validationError(format string, args ...any) *APIError {
	return errf("ValidationError", 400, format, args...)
}

// qList reads prefix.member.1, prefix.member.2, … (an empty "prefix=" is an
// empty list).
func qList(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[prefix+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// qInt reads an optional integer.
func qInt(p url.Values, name string) (int, bool, *APIError) {
	v, ok := p[name]
	if !ok || v[0] == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return 0, false, validationError("Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", v[0], lowerFirst(name))
	}
	return n, true, nil
}

func qBool(p url.Values, name string) (value, set bool) {
	v, ok := p[name]
	if !ok {
		return false, false
	}
	return v[0] == "true", true
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func requiredParam(p url.Values, name string) (string, *APIError) {
	v := p.Get(name)
	if v == "" {
		return "", validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

func groupNotFound(name string) *APIError {
	return validationError("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
}

func (s *Sim) groupParamLocked(p url.Values) (*Group, *APIError) {
	name, apiErr := requiredParam(p, "AutoScalingGroupName")
	if apiErr != nil {
		return nil, apiErr
	}
	g := s.groups[name]
	if g == nil || g.Status != "" {
		return nil, groupNotFound(name)
	}
	return g, nil
}

func ltSpecParam(p url.Values, prefix string) (LaunchTemplateSpec, bool) {
	spec := LaunchTemplateSpec{ID: p.Get(prefix + ".LaunchTemplateId"), Name: p.Get(prefix + ".LaunchTemplateName"), Version: p.Get(prefix + ".Version")}
	return spec, spec.ID != "" || spec.Name != ""
}

// checkLaunchTemplateLocked validates a spec the way Auto Scaling reports it
// and returns it with the template's id and name filled in.
func (s *Sim) checkLaunchTemplateLocked(spec LaunchTemplateSpec) (LaunchTemplateSpec, *APIError) {
	if spec.ID != "" && spec.Name != "" {
		return spec, validationError("Valid requests must contain either launchTemplateId or LaunchTemplateName.")
	}
	lt, _, apiErr := s.resolveLaunchTemplateLocked(spec)
	if apiErr != nil {
		return spec, validationError("%s", apiErr.Message)
	}
	spec.ID, spec.Name = lt.ID, lt.Name
	return spec, nil
}

// applyMixedParams applies MixedInstancesPolicy.* parameters over base:
// members that are absent keep their value, as partial updates need.
func (s *Sim) applyMixedParams(p url.Values, base *MixedPolicy) (*MixedPolicy, *APIError) {
	const pre = "MixedInstancesPolicy."
	m := &MixedPolicy{Distribution: Distribution{OnDemandPercentageAboveBaseCapacity: 100, OnDemandAllocationStrategy: "prioritized", SpotAllocationStrategy: "lowest-price"}}
	if base != nil {
		m.LaunchTemplate = base.LaunchTemplate
		m.Overrides = append([]Override(nil), base.Overrides...)
		m.Distribution = base.Distribution
	}
	if spec, ok := ltSpecParam(p, pre+"LaunchTemplate.LaunchTemplateSpecification"); ok {
		spec, apiErr := s.checkLaunchTemplateLocked(spec)
		if apiErr != nil {
			return nil, apiErr
		}
		m.LaunchTemplate = spec
	}
	if _, ok := p[pre+"LaunchTemplate.Overrides"]; ok {
		m.Overrides = nil
	}
	if p.Get(pre+"LaunchTemplate.Overrides.member.1.InstanceType") != "" || p.Get(pre+"LaunchTemplate.Overrides.member.1.ImageId") != "" {
		m.Overrides = nil
		for i := 1; ; i++ {
			op := fmt.Sprintf("%sLaunchTemplate.Overrides.member.%d.", pre, i)
			typ := p.Get(op + "InstanceType")
			if typ == "" {
				break
			}
			o := Override{InstanceType: typ, ImageID: p.Get(op + "ImageId")}
			if w := p.Get(op + "WeightedCapacity"); w != "" {
				n, err := strconv.Atoi(w)
				if err != nil || n < 1 || n > 999 {
					return nil, validationError("Value '%s' at 'weightedCapacity' failed to satisfy constraint: Member must be between 1 and 999", w)
				}
				o.WeightedCapacity = n
			}
			if spec, ok := ltSpecParam(p, op+"LaunchTemplateSpecification"); ok {
				spec, apiErr := s.checkLaunchTemplateLocked(spec)
				if apiErr != nil {
					return nil, apiErr
				}
				o.LaunchTemplate = &spec
			}
			m.Overrides = append(m.Overrides, o)
		}
	}
	d := &m.Distribution
	dp := pre + "InstancesDistribution."
	if v := p.Get(dp + "OnDemandAllocationStrategy"); v != "" {
		if v != "prioritized" && v != "lowest-price" {
			return nil, validationError("Valid values for OnDemandAllocationStrategy are: prioritized, lowest-price.")
		}
		d.OnDemandAllocationStrategy = v
	}
	if n, ok, apiErr := qInt(p, dp+"OnDemandBaseCapacity"); apiErr != nil {
		return nil, apiErr
	} else if ok {
		if n < 0 {
			return nil, validationError("OnDemandBaseCapacity must be greater than or equal to 0.")
		}
		d.OnDemandBaseCapacity = n
	}
	if n, ok, apiErr := qInt(p, dp+"OnDemandPercentageAboveBaseCapacity"); apiErr != nil {
		return nil, apiErr
	} else if ok {
		if n < 0 || n > 100 {
			return nil, validationError("OnDemandPercentageAboveBaseCapacity must be between 0 and 100.")
		}
		d.OnDemandPercentageAboveBaseCapacity = n
	}
	if v := p.Get(dp + "SpotAllocationStrategy"); v != "" {
		switch v {
		case "lowest-price", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized":
		default:
			return nil, validationError("Valid values for SpotAllocationStrategy are: lowest-price, capacity-optimized, capacity-optimized-prioritized, price-capacity-optimized.")
		}
		d.SpotAllocationStrategy = v
	}
	if n, ok, apiErr := qInt(p, dp+"SpotInstancePools"); apiErr != nil {
		return nil, apiErr
	} else if ok {
		if n < 1 || n > 20 {
			return nil, validationError("SpotInstancePools must be between 1 and 20.")
		}
		d.SpotInstancePools = n
	}
	if v, ok := p[dp+"SpotMaxPrice"]; ok {
		if v[0] != "" {
			if f, err := strconv.ParseFloat(v[0], 64); err != nil || f < 0.001 {
				return nil, validationError("SpotMaxPrice must be at least 0.001.")
			}
		}
		d.SpotMaxPrice = v[0]
	}
	if d.SpotAllocationStrategy != "lowest-price" {
		d.SpotInstancePools = 0
	} else if d.SpotInstancePools == 0 {
		d.SpotInstancePools = 2
	}
	if m.LaunchTemplate.ID == "" {
		return nil, validationError("The request must contain the parameter MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.")
	}
	return m, nil
}

// zonesParamsLocked resolves AvailabilityZones / VPCZoneIdentifier.
func (s *Sim) zonesParamsLocked(p url.Values) (azs, subnets []string, set bool, apiErr *APIError) {
	if v := p.Get("VPCZoneIdentifier"); v != "" {
		seen := map[string]bool{}
		for _, id := range strings.Split(v, ",") {
			id = strings.TrimSpace(id)
			sub := s.subnetByIDLocked(id)
			if sub == nil {
				return nil, nil, true, validationError("The subnet ID '%s' does not exist", id)
			}
			subnets = append(subnets, id)
			if !seen[sub.AZ] {
				seen[sub.AZ] = true
				azs = append(azs, sub.AZ)
			}
		}
		sort.Strings(azs)
		return azs, subnets, true, nil
	}
	list := qList(p, "AvailabilityZones")
	if len(list) == 0 {
		return nil, nil, false, nil
	}
	for _, az := range list {
		if s.zoneLocked(az) == nil {
			return nil, nil, true, validationError("The availability zone '%s' is not legal", az)
		}
	}
	azs = append([]string(nil), list...)
	sort.Strings(azs)
	return azs, nil, true, nil
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

// ---- handlers ----

func (s *Sim) createAutoScalingGroup(r *request) (any, *APIError) {
	p := r.Params
	name, apiErr := requiredParam(p, "AutoScalingGroupName")
	if apiErr != nil {
		return nil, apiErr
	}
	if s.groups[name] != nil {
		return nil, errf("AlreadyExists", 400, "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	minSize, okMin, apiErr := qInt(p, "MinSize")
	if apiErr != nil {
		return nil, apiErr
	}
	maxSize, okMax, apiErr := qInt(p, "MaxSize")
	if apiErr != nil {
		return nil, apiErr
	}
	if !okMin || !okMax {
		return nil, validationError("1 validation error detected: Value null at 'minSize' failed to satisfy constraint: Member must not be null")
	}
	desired, okDesired, apiErr := qInt(p, "DesiredCapacity")
	if apiErr != nil {
		return nil, apiErr
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

	_, hasMixed := p["MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId"]
	_, hasMixedName := p["MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"]
	spec, hasLT := ltSpecParam(p, "LaunchTemplate")
	if hasLT && (hasMixed || hasMixedName) {
		return nil, validationError("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	switch {
	case hasLT:
		spec, apiErr := s.checkLaunchTemplateLocked(spec)
		if apiErr != nil {
			return nil, apiErr
		}
		g.LaunchTemplate = &spec
	case hasMixed || hasMixedName:
		m, apiErr := s.applyMixedParams(p, nil)
		if apiErr != nil {
			return nil, apiErr
		}
		g.Mixed = m
	default:
		return nil, validationError("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}

	azs, subnets, set, apiErr := s.zonesParamsLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	if !set {
		return nil, validationError("At least one Availability Zone or VPC Subnet is required.")
	}
	g.AvailabilityZones, g.SubnetIDs = azs, subnets
	if apiErr := s.applyGroupOptions(g, p); apiErr != nil {
		return nil, apiErr
	}
	for i := 1; ; i++ {
		tp := fmt.Sprintf("Tags.member.%d.", i)
		key, ok := p[tp+"Key"]
		if !ok {
			break
		}
		g.Tags[key[0]] = p.Get(tp + "Value")
		g.PropagateAtLaunch[key[0]] = p.Get(tp+"PropagateAtLaunch") == "true"
	}
	s.groups[name] = g
	return nil, nil
}

// applyGroupOptions applies the optional scalar settings shared by Create
// and Update.
func (s *Sim) applyGroupOptions(g *Group, p url.Values) *APIError {
	if v, ok := qBool(p, "NewInstancesProtectedFromScaleIn"); ok {
		g.NewInstancesProtectedFromScaleIn = v
	}
	if v, ok := qBool(p, "CapacityRebalance"); ok {
		g.CapacityRebalance = v
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"DefaultCooldown", &g.DefaultCooldown}, {"HealthCheckGracePeriod", &g.HealthCheckGrace}, {"MaxInstanceLifetime", &g.MaxInstanceLifetime}} {
		n, ok, apiErr := qInt(p, f.name)
		if apiErr != nil {
			return apiErr
		}
		if ok {
			*f.dst = n
		}
	}
	if v := p.Get("HealthCheckType"); v != "" {
		g.HealthCheckType = v
	}
	if v := p.Get("DesiredCapacityType"); v != "" {
		if v != "units" && v != "vcpu" && v != "memory-mib" {
			return validationError("Valid values for DesiredCapacityType are: units, vcpu, memory-mib.")
		}
		g.DesiredCapacityType = v
	}
	if l := qList(p, "TerminationPolicies"); len(l) > 0 {
		g.TerminationPolicies = l
	}
	return nil
}

func (s *Sim) updateAutoScalingGroup(r *request) (any, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	minSize, okMin, apiErr := qInt(p, "MinSize")
	if apiErr != nil {
		return nil, apiErr
	}
	maxSize, okMax, apiErr := qInt(p, "MaxSize")
	if apiErr != nil {
		return nil, apiErr
	}
	desired, okDesired, apiErr := qInt(p, "DesiredCapacity")
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
	if spec, ok := ltSpecParam(p, "LaunchTemplate"); ok {
		spec, apiErr := s.checkLaunchTemplateLocked(spec)
		if apiErr != nil {
			return nil, apiErr
		}
		lt = &spec
	}
	var mixed *MixedPolicy
	hasMixed := false
	for k := range p {
		if strings.HasPrefix(k, "MixedInstancesPolicy") {
			hasMixed = true
			break
		}
	}
	if hasMixed {
		base := g.Mixed
		if base == nil && g.LaunchTemplate != nil {
			base = &MixedPolicy{LaunchTemplate: *g.LaunchTemplate,
				Distribution: Distribution{OnDemandPercentageAboveBaseCapacity: 100, OnDemandAllocationStrategy: "prioritized", SpotAllocationStrategy: "lowest-price"}}
		}
		m, apiErr := s.applyMixedParams(p, base)
		if apiErr != nil {
			return nil, apiErr
		}
		mixed = m
	}
	azs, subnets, zonesSet, apiErr := s.zonesParamsLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	cp := *g
	if apiErr := s.applyGroupOptions(&cp, p); apiErr != nil {
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
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	force, _ := qBool(r.Params, "ForceDelete")
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

// ---- DescribeAutoScalingGroups ----

type xmlLTSpec struct {
	LaunchTemplateId   string `xml:"LaunchTemplateId,omitempty"`
	LaunchTemplateName string `xml:"LaunchTemplateName,omitempty"`
	Version            string `xml:"Version,omitempty"`
}

func ltXML(spec *LaunchTemplateSpec) *xmlLTSpec {
	if spec == nil {
		return nil
	}
	return &xmlLTSpec{spec.ID, spec.Name, spec.Version}
}

type xmlASGInstance struct {
	InstanceId           string
	InstanceType         string
	AvailabilityZone     string
	AvailabilityZoneId   string `xml:",omitempty"`
	LifecycleState       string
	HealthStatus         string
	LaunchTemplate       *xmlLTSpec `xml:",omitempty"`
	ImageId              string     `xml:",omitempty"`
	ProtectedFromScaleIn bool
	WeightedCapacity     string `xml:",omitempty"`
}

type xmlOverride struct {
	InstanceType                string
	WeightedCapacity            string     `xml:",omitempty"`
	ImageId                     string     `xml:",omitempty"`
	LaunchTemplateSpecification *xmlLTSpec `xml:",omitempty"`
}

type xmlMixed struct {
	LaunchTemplateSpecification xmlLTSpec     `xml:"LaunchTemplate>LaunchTemplateSpecification"`
	Overrides                   []xmlOverride `xml:"LaunchTemplate>Overrides>member"`
	Distribution                struct {
		OnDemandAllocationStrategy          string
		OnDemandBaseCapacity                int
		OnDemandPercentageAboveBaseCapacity int
		SpotAllocationStrategy              string
		SpotInstancePools                   int    `xml:",omitempty"`
		SpotMaxPrice                        string `xml:",omitempty"`
	} `xml:"InstancesDistribution"`
}

type xmlSuspended struct {
	ProcessName      string
	SuspensionReason string
}

type xmlTag struct {
	ResourceId        string
	ResourceType      string
	Key               string
	Value             string
	PropagateAtLaunch bool
}

type xmlGroup struct {
	AutoScalingGroupName             string
	AutoScalingGroupARN              string
	LaunchTemplate                   *xmlLTSpec `xml:",omitempty"`
	MixedInstancesPolicy             *xmlMixed  `xml:",omitempty"`
	MinSize                          int
	MaxSize                          int
	DesiredCapacity                  int
	DefaultCooldown                  int
	AvailabilityZones                []string `xml:"AvailabilityZones>member"`
	HealthCheckType                  string
	HealthCheckGracePeriod           int
	Instances                        []xmlASGInstance `xml:"Instances>member"`
	CreatedTime                      string
	SuspendedProcesses               []xmlSuspended `xml:"SuspendedProcesses>member"`
	VPCZoneIdentifier                string         `xml:",omitempty"`
	Status                           string         `xml:",omitempty"`
	Tags                             []xmlTag       `xml:"Tags>member"`
	TerminationPolicies              []string       `xml:"TerminationPolicies>member"`
	NewInstancesProtectedFromScaleIn bool
	ServiceLinkedRoleARN             string
	MaxInstanceLifetime              int `xml:",omitempty"`
	CapacityRebalance                bool
	DesiredCapacityType              string `xml:",omitempty"`
}

func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Sim) groupXMLLocked(g *Group, includeInstances bool) xmlGroup {
	x := xmlGroup{
		AutoScalingGroupName: g.Name, AutoScalingGroupARN: g.ARN, LaunchTemplate: ltXML(g.LaunchTemplate),
		MinSize: g.MinSize, MaxSize: g.MaxSize, DesiredCapacity: g.Desired, DefaultCooldown: g.DefaultCooldown,
		AvailabilityZones: g.AvailabilityZones, HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: g.HealthCheckGrace,
		CreatedTime: xmlTime(g.CreatedTime), VPCZoneIdentifier: strings.Join(g.SubnetIDs, ","), Status: g.Status,
		TerminationPolicies: g.TerminationPolicies, NewInstancesProtectedFromScaleIn: g.NewInstancesProtectedFromScaleIn,
		ServiceLinkedRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", s.opts.AccountID),
		MaxInstanceLifetime:  g.MaxInstanceLifetime, CapacityRebalance: g.CapacityRebalance, DesiredCapacityType: g.DesiredCapacityType,
	}
	if m := g.Mixed; m != nil {
		xm := &xmlMixed{LaunchTemplateSpecification: *ltXML(&m.LaunchTemplate)}
		for _, o := range m.Overrides {
			xo := xmlOverride{InstanceType: o.InstanceType, ImageId: o.ImageID, LaunchTemplateSpecification: ltXML(o.LaunchTemplate)}
			if o.WeightedCapacity > 0 {
				xo.WeightedCapacity = strconv.Itoa(o.WeightedCapacity)
			}
			xm.Overrides = append(xm.Overrides, xo)
		}
		d := m.Distribution
		xm.Distribution.OnDemandAllocationStrategy = d.OnDemandAllocationStrategy
		xm.Distribution.OnDemandBaseCapacity = d.OnDemandBaseCapacity
		xm.Distribution.OnDemandPercentageAboveBaseCapacity = d.OnDemandPercentageAboveBaseCapacity
		xm.Distribution.SpotAllocationStrategy = d.SpotAllocationStrategy
		xm.Distribution.SpotInstancePools = d.SpotInstancePools
		xm.Distribution.SpotMaxPrice = d.SpotMaxPrice
		x.MixedInstancesPolicy = xm
	}
	if includeInstances && len(g.members) > 0 {
		x.Instances = make([]xmlASGInstance, 0, len(g.members))
		for _, inst := range g.members {
			if inst.Lifecycle == "Detached" {
				continue
			}
			xi := xmlASGInstance{
				InstanceId: inst.ID, InstanceType: inst.InstanceType, AvailabilityZone: inst.AZ,
				LifecycleState: inst.Lifecycle, HealthStatus: inst.Health, LaunchTemplate: ltXML(inst.LaunchTemplate),
				ProtectedFromScaleIn: inst.ProtectedFromScaleIn, WeightedCapacity: strconv.Itoa(max(inst.WeightedCapacity, 1)),
			}
			if z := s.zoneLocked(inst.AZ); z != nil {
				xi.AvailabilityZoneId = z.ID
			}
			x.Instances = append(x.Instances, xi)
		}
		sort.Slice(x.Instances, func(i, j int) bool { return x.Instances[i].InstanceId < x.Instances[j].InstanceId })
	}
	for _, proc := range scalingProcesses {
		if reason, ok := g.SuspendedProcesses[proc]; ok {
			x.SuspendedProcesses = append(x.SuspendedProcesses, xmlSuspended{proc, reason})
		}
	}
	keys := make([]string, 0, len(g.Tags))
	for k := range g.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.Tags = append(x.Tags, xmlTag{g.Name, "auto-scaling-group", k, g.Tags[k], g.PropagateAtLaunch[k]})
	}
	return x
}

type asgFilter struct {
	name   string
	values []string
}

func qFilters(p url.Values) []asgFilter {
	var out []asgFilter
	for i := 1; ; i++ {
		fp := fmt.Sprintf("Filters.member.%d.", i)
		name, ok := p[fp+"Name"]
		if !ok {
			return out
		}
		out = append(out, asgFilter{name[0], qList(p, fp+"Values")})
	}
}

func (f asgFilter) match(g *Group) bool {
	for _, v := range f.values {
		switch {
		case f.name == "tag-key":
			if _, ok := g.Tags[v]; ok {
				return true
			}
		case f.name == "tag-value":
			for _, tv := range g.Tags {
				if tv == v {
					return true
				}
			}
		case strings.HasPrefix(f.name, "tag:"):
			if tv, ok := g.Tags[f.name[4:]]; ok && tv == v {
				return true
			}
		}
	}
	return false
}

// pageParams reads MaxRecords (default def, at most limit) and NextToken.
func pageParams(p url.Values, def, limit int) (int, string, *APIError) {
	n, ok, apiErr := qInt(p, "MaxRecords")
	if apiErr != nil {
		return 0, "", apiErr
	}
	if !ok {
		n = def
	}
	if n < 1 || n > limit {
		return 0, "", validationError("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to %d", n, limit)
	}
	tok := ""
	if t := p.Get("NextToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return 0, "", validationError("The token '%s' is invalid.", t)
		}
		tok = string(b)
	}
	return n, tok, nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

type describeGroupsResult struct {
	AutoScalingGroups []xmlGroup `xml:"AutoScalingGroups>member"`
	NextToken         string     `xml:",omitempty"`
}

func (s *Sim) describeAutoScalingGroups(r *request) (any, *APIError) {
	p := r.Params
	limit, after, apiErr := pageParams(p, 50, 100)
	if apiErr != nil {
		return nil, apiErr
	}
	filters := qFilters(p)
	for _, f := range filters {
		if f.name != "tag-key" && f.name != "tag-value" && !strings.HasPrefix(f.name, "tag:") {
			return nil, validationError("Filter type %s is not correct. Allowed Filter types are: tag-key tag-value tag:<key> ", f.name)
		}
	}
	include := true
	if v, ok := qBool(p, "IncludeInstances"); ok {
		include = v
	}
	var names []string
	if wanted := qList(p, "AutoScalingGroupNames"); len(wanted) > 0 {
		for _, n := range wanted {
			if s.groups[n] != nil {
				names = append(names, n)
			}
		}
	} else {
		names = make([]string, 0, len(s.groups))
		for n := range s.groups {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = dedupSorted(names)
	out := &describeGroupsResult{}
	for _, n := range names {
		if after != "" && n <= after {
			continue
		}
		g := s.groups[n]
		ok := true
		for _, f := range filters {
			if !f.match(g) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if len(out.AutoScalingGroups) == limit {
			out.NextToken = encodeToken(out.AutoScalingGroups[limit-1].AutoScalingGroupName)
			break
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, s.groupXMLLocked(g, include))
	}
	return out, nil
}

func dedupSorted(l []string) []string {
	out := l[:0]
	for i, v := range l {
		if i == 0 || v != l[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// ---- capacity ----

func (s *Sim) setDesiredCapacity(r *request) (any, *APIError) {
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	n, ok, apiErr := qInt(r.Params, "DesiredCapacity")
	if apiErr != nil {
		return nil, apiErr
	}
	if !ok {
		return nil, validationError("1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null")
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

type xmlActivity struct {
	ActivityId           string
	AutoScalingGroupName string
	AutoScalingGroupARN  string `xml:",omitempty"`
	Description          string
	Cause                string
	StartTime            string
	EndTime              string `xml:",omitempty"`
	StatusCode           string
	StatusMessage        string `xml:",omitempty"`
	Progress             int
	Details              string
}

func activityXML(a *Activity) xmlActivity {
	x := xmlActivity{
		ActivityId: a.ID, AutoScalingGroupName: a.GroupName, AutoScalingGroupARN: a.GroupARN, Description: a.Description,
		Cause: a.Cause, StartTime: xmlTime(a.StartTime), StatusCode: a.StatusCode, StatusMessage: a.StatusMessage,
		Progress: a.Progress, Details: a.Details,
	}
	if !a.EndTime.IsZero() {
		x.EndTime = xmlTime(a.EndTime)
	}
	return x
}

type terminateResult struct {
	Activity   *xmlActivity  `xml:",omitempty"`
	Activities []xmlActivity `xml:"Activities>member"`
}

func (s *Sim) terminateInstanceInAutoScalingGroup(r *request) (any, *APIError) {
	p := r.Params
	ids := qList(p, "InstanceIds")
	single := p.Get("InstanceId")
	groupName := p.Get("AutoScalingGroupName")
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
		return nil, validationError("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null")
	}
	if len(ids) > 100 {
		return nil, validationError("The number of instance IDs must not exceed 100.")
	}
	decrement, ok := qBool(p, "ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, validationError("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
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
		retained := inst.Lifecycle == "Terminating:Retained" && inst.State == "running"
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
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	ids := qList(p, "InstanceIds")
	if len(ids) > 50 {
		return nil, validationError("The number of instance IDs must not exceed 50.")
	}
	protect, ok := qBool(p, "ProtectedFromScaleIn")
	if !ok {
		return nil, validationError("1 validation error detected: Value null at 'protectedFromScaleIn' failed to satisfy constraint: Member must not be null")
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

func (s *Sim) processesParam(p url.Values) ([]string, *APIError) {
	procs := qList(p, "ScalingProcesses")
	if len(procs) == 0 {
		return scalingProcesses, nil
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
		return nil, validationError("Process type(s) %s is/are not valid", strings.Join(bad, ", "))
	}
	return procs, nil
}

func (s *Sim) suspendProcesses(r *request) (any, *APIError) {
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	procs, apiErr := s.processesParam(r.Params)
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
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	procs, apiErr := s.processesParam(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	for _, proc := range procs {
		delete(g.SuspendedProcesses, proc)
	}
	return nil, nil
}

// ---- activities ----

type describeActivitiesResult struct {
	Activities []xmlActivity `xml:"Activities>member"`
	NextToken  string        `xml:",omitempty"`
}

func (s *Sim) describeScalingActivities(r *request) (any, *APIError) {
	p := r.Params
	limit, after, apiErr := pageParams(p, 100, 100)
	if apiErr != nil {
		return nil, apiErr
	}
	var list []*Activity
	if ids := qList(p, "ActivityIds"); len(ids) > 0 {
		for _, id := range ids {
			if a := s.activities[id]; a != nil && s.groups[a.GroupName] != nil {
				list = append(list, a)
			}
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].StartTime.After(list[j].StartTime) })
	} else if name := p.Get("AutoScalingGroupName"); name != "" {
		if g := s.groups[name]; g != nil {
			list = slices.Clone(g.Activities)
			slices.Reverse(list)
		}
	} else {
		for _, g := range s.groups {
			list = append(list, g.Activities...)
		}
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].StartTime.Equal(list[j].StartTime) {
				return list[i].StartTime.After(list[j].StartTime)
			}
			return list[i].ID < list[j].ID
		})
	}
	page, next, ok := pageAfter(list, after, limit, func(a *Activity) string { return a.ID })
	if !ok {
		return nil, validationError("The token '%s' is invalid.", p.Get("NextToken"))
	}
	out := &describeActivitiesResult{NextToken: next, Activities: make([]xmlActivity, 0, len(page))}
	for _, a := range page {
		out.Activities = append(out.Activities, activityXML(a))
	}
	return out, nil
}

// pageAfter cuts one page of at most limit items from list, resuming after
// the item whose key is after (the decoded NextToken; "" = from the start),
// and returns the token for the next page ("" when this is the last). ok is
// false when no item has the key after.
func pageAfter[T any](list []T, after string, limit int, key func(T) string) (page []T, next string, ok bool) {
	start := 0
	if after != "" {
		start = -1
		for i, x := range list {
			if key(x) == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", false
		}
	}
	end := min(start+limit, len(list))
	if end < len(list) {
		next = encodeToken(key(list[end-1]))
	}
	return list[start:end], next, true
}

// ---- policies ----

type xmlPolicy struct {
	AutoScalingGroupName string
	PolicyName           string
	PolicyARN            string
	PolicyType           string
	AdjustmentType       string `xml:",omitempty"`
	ScalingAdjustment    *int   `xml:",omitempty"`
	Cooldown             *int   `xml:",omitempty"`
	Enabled              bool
}

func (s *Sim) putScalingPolicy(r *request) (any, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	name, apiErr := requiredParam(p, "PolicyName")
	if apiErr != nil {
		return nil, apiErr
	}
	pol := ScalingPolicy{Name: name, Type: cmpOr(p.Get("PolicyType"), "SimpleScaling"), AdjustmentType: p.Get("AdjustmentType"), Enabled: true}
	switch pol.Type {
	case "SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling":
	default:
		return nil, validationError("Invalid policy type %s", pol.Type)
	}
	n, _, apiErr := qInt(p, "ScalingAdjustment")
	if apiErr != nil {
		return nil, apiErr
	}
	pol.ScalingAdjustment = n
	if n, _, apiErr = qInt(p, "Cooldown"); apiErr != nil {
		return nil, apiErr
	}
	pol.Cooldown = n
	if v, ok := qBool(p, "Enabled"); ok {
		pol.Enabled = v
	}
	replaced := false
	for i := range g.Policies {
		if g.Policies[i].Name == name {
			pol.ARN = g.Policies[i].ARN
			g.Policies[i] = pol
			replaced = true
		}
	}
	if !replaced {
		pol.ARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:autoScalingGroupName/%s:policyName/%s", s.opts.Region, s.opts.AccountID, s.newRequestID(), g.Name, name)
		g.Policies = append(g.Policies, pol)
	}
	return struct {
		PolicyARN string
	}{pol.ARN}, nil
}

func (s *Sim) deletePolicy(r *request) (any, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	name, apiErr := requiredParam(p, "PolicyName")
	if apiErr != nil {
		return nil, apiErr
	}
	for i, pol := range g.Policies {
		if pol.Name == name || pol.ARN == name {
			g.Policies = append(g.Policies[:i:i], g.Policies[i+1:]...)
			return nil, nil
		}
	}
	return nil, validationError("The scaling policy %s does not exist.", name)
}

func (s *Sim) describePolicies(r *request) (any, *APIError) {
	p := r.Params
	limit, after, apiErr := pageParams(p, 50, 100)
	if apiErr != nil {
		return nil, apiErr
	}
	names := map[string]bool{}
	for _, n := range qList(p, "PolicyNames") {
		names[n] = true
	}
	types := map[string]bool{}
	for _, t := range qList(p, "PolicyTypes") {
		types[t] = true
	}
	var groups []*Group
	if name := p.Get("AutoScalingGroupName"); name != "" {
		if g := s.groups[name]; g != nil {
			groups = append(groups, g)
		}
	} else {
		for _, g := range s.groups {
			groups = append(groups, g)
		}
		sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	}
	var all []xmlPolicy
	for _, g := range groups {
		for _, pol := range g.Policies {
			if len(names) > 0 && !names[pol.Name] && !names[pol.ARN] {
				continue
			}
			if len(types) > 0 && !types[pol.Type] {
				continue
			}
			x := xmlPolicy{AutoScalingGroupName: g.Name, PolicyName: pol.Name, PolicyARN: pol.ARN, PolicyType: pol.Type,
				AdjustmentType: pol.AdjustmentType, Enabled: pol.Enabled}
			if pol.Type == "SimpleScaling" {
				adj, cd := pol.ScalingAdjustment, pol.Cooldown
				x.ScalingAdjustment, x.Cooldown = &adj, &cd
			}
			all = append(all, x)
		}
	}
	// A token of a policy deleted since is past the end: an empty page.
	page, next, _ := pageAfter(all, after, limit, func(x xmlPolicy) string { return x.PolicyARN })
	out := struct {
		ScalingPolicies []xmlPolicy `xml:"ScalingPolicies>member"`
		NextToken       string      `xml:",omitempty"`
	}{ScalingPolicies: page, NextToken: next}
	return out, nil
}

// ---- LaunchInstances ----

type xmlInstanceCollection struct {
	InstanceType       string
	MarketType         string
	SubnetId           string
	AvailabilityZone   string
	AvailabilityZoneId string
	InstanceIds        []string `xml:"InstanceIds>member"`
}

type xmlLaunchError struct {
	InstanceType       string `xml:",omitempty"`
	MarketType         string `xml:",omitempty"`
	SubnetId           string `xml:",omitempty"`
	AvailabilityZone   string `xml:",omitempty"`
	AvailabilityZoneId string `xml:",omitempty"`
	ErrorCode          string
	ErrorMessage       string
}

type launchInstancesResult struct {
	AutoScalingGroupName string
	ClientToken          string
	Instances            []xmlInstanceCollection `xml:"Instances>member"`
	Errors               []xmlLaunchError        `xml:"Errors>member"`
}

// launchInstances launches synchronously in one AZ following the group's
// policy and raises desired capacity by what it launched (by the whole
// request with RetryStrategy retry-with-group-configuration, so the group
// retries the rest).
func (s *Sim) launchInstances(r *request) (any, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	token, apiErr := requiredParam(p, "ClientToken")
	if apiErr != nil {
		return nil, apiErr
	}
	if prev, ok := g.launchTokens[token]; ok {
		return prev, nil
	}
	requested, ok, apiErr := qInt(p, "RequestedCapacity")
	if apiErr != nil {
		return nil, apiErr
	}
	if !ok || requested < 1 || requested > 100 {
		return nil, validationError("1 validation error detected: Value '%d' at 'requestedCapacity' failed to satisfy constraint: Member must have value between 1 and 100", requested)
	}
	retry := cmpOr(p.Get("RetryStrategy"), "none")
	if retry != "none" && retry != "retry-with-group-configuration" {
		return nil, validationError("Valid values for RetryStrategy are: none, retry-with-group-configuration.")
	}

	azs, subnets := qList(p, "AvailabilityZones"), qList(p, "SubnetIds")
	for _, id := range qList(p, "AvailabilityZoneIds") {
		for _, z := range s.zones {
			if z.ID == id {
				azs = append(azs, z.Name)
			}
		}
	}
	var az string
	switch {
	case len(azs)+len(subnets) > 1 && !(len(subnets) == 1 && len(azs) == 0):
		return nil, validationError("Only one Availability Zone or subnet can be specified per LaunchInstances request.")
	case len(subnets) == 1:
		sub := s.subnetByIDLocked(subnets[0])
		if sub == nil || !contains(g.SubnetIDs, sub.ID) && len(g.SubnetIDs) > 0 {
			return nil, validationError("The subnet ID '%s' is not part of the Auto Scaling group %s.", subnets[0], g.Name)
		}
		az = sub.AZ
	case len(azs) == 1:
		az = azs[0]
	case len(g.AvailabilityZones) == 1:
		az = g.AvailabilityZones[0]
	default:
		return nil, validationError("An Availability Zone or subnet is required for Auto Scaling groups with multiple Availability Zones.")
	}
	if !contains(g.AvailabilityZones, az) {
		return nil, validationError("The Availability Zone %s is not enabled for the Auto Scaling group %s.", az, g.Name)
	}

	st := s.groupStatsLocked(g)
	if g.Desired+requested > g.MaxSize {
		return nil, validationError("New SetDesiredCapacity value %d is above max value %d", g.Desired+requested, g.MaxSize)
	}
	target := g.Desired + requested
	now := s.clock.Now()
	cause := fmt.Sprintf("At %s an instance was started in response to a LaunchInstances request, increasing the capacity from %d to %d.", asgTime(now), g.Desired, target)
	out := &launchInstancesResult{AutoScalingGroupName: g.Name, ClientToken: token}
	type key struct {
		typ    string
		market Market
	}
	collections := map[key]int{}
	launched := 0
	var fail *launchFailure
	for launched < requested {
		c, f := s.choosePoolLocked(g, st, az, target)
		if f != nil {
			fail = f
			break
		}
		inst := s.launchGroupInstanceLocked(g, c, cause)
		st.add(inst)
		launched += max(c.Weight, 1)
		k := key{inst.InstanceType, inst.Market}
		i, ok := collections[k]
		if !ok {
			i = len(out.Instances)
			collections[k] = i
			zoneID := ""
			if z := s.zoneLocked(az); z != nil {
				zoneID = z.ID
			}
			out.Instances = append(out.Instances, xmlInstanceCollection{InstanceType: inst.InstanceType, MarketType: string(inst.Market),
				SubnetId: inst.SubnetID, AvailabilityZone: az, AvailabilityZoneId: zoneID})
		}
		out.Instances[i].InstanceIds = append(out.Instances[i].InstanceIds, inst.ID)
	}
	if fail != nil {
		zoneID := ""
		if z := s.zoneLocked(az); z != nil {
			zoneID = z.ID
		}
		out.Errors = append(out.Errors, xmlLaunchError{InstanceType: fail.InstanceType, MarketType: string(fail.Market),
			SubnetId: cmpOr(fail.SubnetID, s.groupSubnetLocked(g, az)), AvailabilityZone: az, AvailabilityZoneId: zoneID,
			ErrorCode: fail.Code, ErrorMessage: fail.Message})
	}
	if retry == "retry-with-group-configuration" {
		g.Desired = target
	} else {
		g.Desired = min(g.Desired+launched, g.MaxSize)
	}
	g.launchTokens[token] = out
	return out, nil
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
