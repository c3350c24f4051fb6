package ec2spot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Snapshot is the group as one DescribeAutoScalingGroups call saw it.
type Snapshot struct {
	Name    string
	ARN     string
	MinSize int
	MaxSize int
	Desired int

	DesiredCapacityType              string // "", units, vcpu, memory-mib
	NewInstancesProtectedFromScaleIn bool
	CapacityRebalance                bool
	SuspendedProcesses               []string
	MaxInstanceLifetime              int // seconds; 0 = none
	WarmPool                         bool
	// Weights are the non-empty WeightedCapacity values of the mixed
	// instances policy overrides, by instance type (or "override N").
	Weights map[string]string

	Instances []Instance
	byID      map[string]int

	// TakenAt is when the describe call started.
	TakenAt time.Time
}

// Instance is one member of the group.
type Instance struct {
	ID               string
	LifecycleState   types.LifecycleState
	Phase            Phase
	HealthStatus     string // Healthy, Unhealthy
	InstanceType     string
	AvailabilityZone string
	Protected        bool
	WeightedCapacity string // "" when the group uses no weights
}

// Healthy reports whether the group considers the instance healthy.
func (i Instance) Healthy() bool { return i.HealthStatus != "Unhealthy" }

// weight is the capacity units the member fills: its WeightedCapacity, 1
// when the group uses no weights (or the value is not a number).
func (i Instance) weight() int {
	if n, err := strconv.Atoi(i.WeightedCapacity); err == nil && n > 0 {
		return n
	}
	return 1
}

// Instance returns the member with the given id.
func (s *Snapshot) Instance(id string) (Instance, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Instance{}, false
	}
	return s.Instances[i], true
}

// Suspended reports whether the named scaling process is suspended.
func (s *Snapshot) Suspended(process string) bool {
	for _, p := range s.SuspendedProcesses {
		if p == process {
			return true
		}
	}
	return false
}

// GroupNotFoundError: the named group does not exist in the region.
type GroupNotFoundError struct{ Name, Region string }

func (e *GroupNotFoundError) Error() string {
	return fmt.Sprintf("auto scaling group %q not found in region %s: check plugin_config name and region (and that the credentials belong to the right account)", e.Name, e.Region)
}

// describeGroup is the one DescribeAutoScalingGroups of a refresh.
func describeGroup(ctx context.Context, api AutoScalingAPI, name, region string, takenAt time.Time) (*Snapshot, error) {
	g, err := describeGroupFull(ctx, api, name, region)
	if err != nil {
		return nil, err
	}
	return newSnapshot(g, takenAt), nil
}

// describeGroupFull describes the group by name, with instances, paginated
// in case AWS ever splits the answer, and keeps the whole answer (tags and
// mixed instances policy too).
func describeGroupFull(ctx context.Context, api AutoScalingAPI, name, region string) (*types.AutoScalingGroup, error) {
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(api, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain("autoscaling:DescribeAutoScalingGroups", err)
		}
		for i := range page.AutoScalingGroups {
			if aws.ToString(page.AutoScalingGroups[i].AutoScalingGroupName) == name {
				return &page.AutoScalingGroups[i], nil
			}
		}
	}
	return nil, &GroupNotFoundError{Name: name, Region: region}
}

func newSnapshot(g *types.AutoScalingGroup, takenAt time.Time) *Snapshot {
	s := &Snapshot{
		Name:                             aws.ToString(g.AutoScalingGroupName),
		ARN:                              aws.ToString(g.AutoScalingGroupARN),
		MinSize:                          int(aws.ToInt32(g.MinSize)),
		MaxSize:                          int(aws.ToInt32(g.MaxSize)),
		Desired:                          int(aws.ToInt32(g.DesiredCapacity)),
		DesiredCapacityType:              aws.ToString(g.DesiredCapacityType),
		NewInstancesProtectedFromScaleIn: aws.ToBool(g.NewInstancesProtectedFromScaleIn),
		CapacityRebalance:                aws.ToBool(g.CapacityRebalance),
		MaxInstanceLifetime:              int(aws.ToInt32(g.MaxInstanceLifetime)),
		WarmPool:                         g.WarmPoolConfiguration != nil,
		Weights:                          map[string]string{},
		Instances:                        make([]Instance, 0, len(g.Instances)),
		byID:                             make(map[string]int, len(g.Instances)),
		TakenAt:                          takenAt,
	}
	for _, p := range g.SuspendedProcesses {
		s.SuspendedProcesses = append(s.SuspendedProcesses, aws.ToString(p.ProcessName))
	}
	if mip := g.MixedInstancesPolicy; mip != nil && mip.LaunchTemplate != nil {
		for n, o := range mip.LaunchTemplate.Overrides {
			if o.WeightedCapacity == nil {
				continue
			}
			key := aws.ToString(o.InstanceType)
			if key == "" {
				key = "override " + strconv.Itoa(n+1)
			}
			s.Weights[key] = aws.ToString(o.WeightedCapacity)
		}
	}
	for _, i := range g.Instances {
		id := aws.ToString(i.InstanceId)
		if id == "" {
			continue
		}
		s.byID[id] = len(s.Instances)
		s.Instances = append(s.Instances, Instance{
			ID:               id,
			LifecycleState:   i.LifecycleState,
			Phase:            Classify(i.LifecycleState),
			HealthStatus:     aws.ToString(i.HealthStatus),
			InstanceType:     aws.ToString(i.InstanceType),
			AvailabilityZone: aws.ToString(i.AvailabilityZone),
			Protected:        aws.ToBool(i.ProtectedFromScaleIn),
			WeightedCapacity: aws.ToString(i.WeightedCapacity),
		})
	}
	return s
}
