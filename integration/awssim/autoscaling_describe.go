package awssim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DescribeAutoScalingGroups: the group as the SDK's AutoScalingGroup shape, tag filters, pages.

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
	DesiredCapacityType              string              `xml:",omitempty"`
	InstanceLifecyclePolicy          *xmlLifecyclePolicy `xml:",omitempty"`
}

type xmlLifecyclePolicy struct {
	TerminateHookAbandon string `xml:"RetentionTriggers>TerminateHookAbandon"`
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
	if g.retainOnAbandon {
		x.InstanceLifecyclePolicy = &xmlLifecyclePolicy{TerminateHookAbandon: "retain"}
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

// filtersParam reads Filters.member.N.{Name,Values}.
func filtersParam(q *params) []asgFilter {
	members := q.Members("Filters")
	out := make([]asgFilter, 0, len(members))
	for _, m := range members {
		out = append(out, asgFilter{q.Str(m + "Name"), q.List(m + "Values")})
	}
	return out
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

type describeGroupsResult struct {
	AutoScalingGroups []xmlGroup `xml:"AutoScalingGroups>member"`
	NextToken         string     `xml:",omitempty"`
}

func (s *Sim) describeAutoScalingGroups(r *request) (any, *APIError) {
	q := newParams(r.Params)
	pg := pageParams(q, 50, 100)
	filters := filtersParam(q)
	include, set := q.Bool("IncludeInstances")
	wanted := q.List("AutoScalingGroupNames")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	after, apiErr := pg.after()
	if apiErr != nil {
		return nil, apiErr
	}
	if !set {
		include = true
	}
	for _, f := range filters {
		if f.name != "tag-key" && f.name != "tag-value" && !strings.HasPrefix(f.name, "tag:") {
			return nil, validationError("Filter type %s is not correct. Allowed Filter types are: tag-key tag-value tag:<key> ", f.name)
		}
	}
	var names []string
	if len(wanted) > 0 {
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
		if len(out.AutoScalingGroups) == pg.limit {
			out.NextToken = encodeToken(out.AutoScalingGroups[pg.limit-1].AutoScalingGroupName)
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
