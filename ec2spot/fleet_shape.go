package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// FleetSpec is the MixedInstancesPolicy shape plugin_config asks for. Nil
// and empty fields leave the group's value untouched.
type FleetSpec struct {
	InstanceTypes                       []string
	OnDemandBaseCapacity                *int
	OnDemandPercentageAboveBaseCapacity *int
	SpotAllocationStrategy              string
	CapacityRebalance                   *bool
}

// reconcileFleet makes the group's mixed instances policy match spec with
// one UpdateAutoScalingGroup carrying only what differs, and logs the diff.
func (s *Spot) reconcileFleet(ctx context.Context, g *types.AutoScalingGroup, spec FleetSpec) error {
	in, changes, err := fleetUpdate(g, spec)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		s.log.Debug("fleet shape matches plugin_config fleet")
		return nil
	}
	if _, err := s.clients.AutoScaling.UpdateAutoScalingGroup(ctx, in); err != nil {
		return fmt.Errorf("reconciling the group's fleet shape (%s): %w", strings.Join(changes, "; "),
			explain("autoscaling:UpdateAutoScalingGroup", err))
	}
	s.log.Info("reconciled the group's fleet shape with plugin_config fleet (applies to new launches; running instances are untouched)",
		"changes", strings.Join(changes, "; "))
	return nil
}

// fleetUpdate computes the update that makes g match spec, and the changes
// in words; no changes = nothing to do.
func fleetUpdate(g *types.AutoScalingGroup, spec FleetSpec) (*autoscaling.UpdateAutoScalingGroupInput, []string, error) {
	in := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: g.AutoScalingGroupName}
	var changes []string

	mip := g.MixedInstancesPolicy
	ltSpec := (*types.LaunchTemplateSpecification)(nil)
	var current []string
	dist := types.InstancesDistribution{}
	if mip != nil {
		if mip.LaunchTemplate != nil {
			ltSpec = mip.LaunchTemplate.LaunchTemplateSpecification
			for n, o := range mip.LaunchTemplate.Overrides {
				t := aws.ToString(o.InstanceType)
				if t == "" {
					t = fmt.Sprintf("override %d (attribute-based)", n+1)
				}
				current = append(current, t)
			}
		}
		if mip.InstancesDistribution != nil {
			dist = *mip.InstancesDistribution
		}
	} else {
		ltSpec = g.LaunchTemplate
	}
	if ltSpec != nil {
		// Auto Scaling describes id and name but accepts only one of them.
		c := types.LaunchTemplateSpecification{LaunchTemplateId: ltSpec.LaunchTemplateId, Version: ltSpec.Version}
		if c.LaunchTemplateId == nil {
			c.LaunchTemplateName = ltSpec.LaunchTemplateName
		}
		ltSpec = &c
	}
	fleetWanted := len(spec.InstanceTypes) > 0 || spec.OnDemandBaseCapacity != nil ||
		spec.OnDemandPercentageAboveBaseCapacity != nil || spec.SpotAllocationStrategy != ""
	if mip == nil && fleetWanted {
		if ltSpec == nil {
			return nil, nil, errors.New("plugin_config fleet needs the group to launch from a launch template (it uses a launch configuration)")
		}
		changes = append(changes, "launch template → mixed instances policy")
	}

	newMIP := &types.MixedInstancesPolicy{}
	touched := false
	if len(spec.InstanceTypes) > 0 && (mip == nil || !slices.Equal(current, spec.InstanceTypes)) {
		lt := &types.LaunchTemplate{LaunchTemplateSpecification: ltSpec}
		for _, t := range spec.InstanceTypes {
			lt.Overrides = append(lt.Overrides, types.LaunchTemplateOverrides{InstanceType: aws.String(t)})
		}
		newMIP.LaunchTemplate = lt
		changes = append(changes, fmt.Sprintf("instance_types [%s] → [%s]", strings.Join(current, " "), strings.Join(spec.InstanceTypes, " ")))
		touched = true
	} else if mip == nil && fleetWanted {
		newMIP.LaunchTemplate = &types.LaunchTemplate{LaunchTemplateSpecification: ltSpec}
		touched = true
	}

	d := &types.InstancesDistribution{}
	distTouched := false
	if v := spec.OnDemandBaseCapacity; v != nil && int(aws.ToInt32(dist.OnDemandBaseCapacity)) != *v {
		d.OnDemandBaseCapacity = aws.Int32(int32(*v))
		changes = append(changes, fmt.Sprintf("on_demand_base_capacity %d → %d", aws.ToInt32(dist.OnDemandBaseCapacity), *v))
		distTouched = true
	}
	curPct := 100 // AWS's default
	if dist.OnDemandPercentageAboveBaseCapacity != nil {
		curPct = int(*dist.OnDemandPercentageAboveBaseCapacity)
	}
	if v := spec.OnDemandPercentageAboveBaseCapacity; v != nil && curPct != *v {
		d.OnDemandPercentageAboveBaseCapacity = aws.Int32(int32(*v))
		changes = append(changes, fmt.Sprintf("on_demand_percentage_above_base_capacity %d → %d", curPct, *v))
		distTouched = true
	}
	curStrategy := aws.ToString(dist.SpotAllocationStrategy)
	if curStrategy == "" {
		curStrategy = "lowest-price" // AWS's default
	}
	if v := spec.SpotAllocationStrategy; v != "" && curStrategy != v {
		d.SpotAllocationStrategy = aws.String(v)
		changes = append(changes, fmt.Sprintf("spot_allocation_strategy %s → %s", curStrategy, v))
		distTouched = true
	}
	if distTouched {
		newMIP.InstancesDistribution = d
		touched = true
	}
	if touched {
		in.MixedInstancesPolicy = newMIP
	}

	if v := spec.CapacityRebalance; v != nil && aws.ToBool(g.CapacityRebalance) != *v {
		in.CapacityRebalance = aws.Bool(*v)
		changes = append(changes, fmt.Sprintf("capacity_rebalance %t → %t", aws.ToBool(g.CapacityRebalance), *v))
	}
	return in, changes, nil
}
