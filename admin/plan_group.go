package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// The group: min 0, protected from scale-in, no capacity rebalance, no
// instance lifetime, AZRebalance suspended, no scaling policies, a mixed
// instances policy over the launch template version setup wrote. Desired
// capacity is the runner's and is never touched on an existing group.

func (p *Plan) mixedPolicy(st *applyState) *astypes.MixedInstancesPolicy {
	overrides := make([]astypes.LaunchTemplateOverrides, len(p.Spec.InstanceTypes))
	for i, t := range p.Spec.InstanceTypes {
		overrides[i] = astypes.LaunchTemplateOverrides{InstanceType: aws.String(t)}
	}
	return &astypes.MixedInstancesPolicy{
		LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{
				LaunchTemplateId: aws.String(st.templateID), Version: aws.String(st.templateVersion),
			},
			Overrides: overrides,
		},
		InstancesDistribution: &astypes.InstancesDistribution{
			OnDemandBaseCapacity:                aws.Int32(int32(p.Spec.OnDemandBase)),
			OnDemandPercentageAboveBaseCapacity: aws.Int32(int32(p.Spec.OnDemandPercentage)),
			SpotAllocationStrategy:              aws.String(p.Spec.SpotAllocationStrategy),
		},
	}
}

func (p *Plan) groupSummary() string {
	return fmt.Sprintf("min 0, max %d, desired 0, %d subnets in %d AZs, types %s, on-demand base %d + %d%% above, spot %s, scale-in protection on, capacity rebalance off, tags %s",
		p.Spec.MaxSize, len(p.Spec.Subnets), len(p.AZs), strings.Join(p.Spec.InstanceTypes, ","), p.Spec.OnDemandBase, p.Spec.OnDemandPercentage,
		p.Spec.SpotAllocationStrategy, strings.Join(p.tagPairs(), ","))
}

func (p *Plan) tagPairs() []string {
	out := make([]string, 0, len(p.Spec.Tags))
	for _, k := range sortedKeys(p.Spec.Tags) {
		out = append(out, k+"="+p.Spec.Tags[k])
	}
	return out
}

func (p *Plan) groupTags(keys []string) []astypes.Tag {
	tags := make([]astypes.Tag, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, astypes.Tag{
			Key: aws.String(k), Value: aws.String(p.Spec.Tags[k]), PropagateAtLaunch: aws.Bool(true),
			ResourceId: aws.String(p.Spec.Name), ResourceType: aws.String("auto-scaling-group"),
		})
	}
	return tags
}

func (p *Plan) planGroup(ctx context.Context) error {
	name := p.Spec.Name
	res := "auto scaling group " + name
	out, err := p.clients.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return fmt.Errorf("describing auto scaling group %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) == 0 {
		p.add(OpCreate, res, p.groupSummary(), func(ctx context.Context, st *applyState) error {
			_, err := p.clients.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(name),
				MinSize:              aws.Int32(0), MaxSize: aws.Int32(int32(p.Spec.MaxSize)), DesiredCapacity: aws.Int32(0),
				VPCZoneIdentifier:                aws.String(strings.Join(p.Spec.Subnets, ",")),
				MixedInstancesPolicy:             p.mixedPolicy(st),
				NewInstancesProtectedFromScaleIn: aws.Bool(true),
				CapacityRebalance:                aws.Bool(false),
				Tags:                             p.groupTags(sortedKeys(p.Spec.Tags)),
			})
			return err
		})
		p.addSuspend(name)
		return nil
	}
	g := out.AutoScalingGroups[0]
	p.GroupARN = deref(g.AutoScalingGroupARN)
	if deref(g.Status) != "" {
		return fmt.Errorf("auto scaling group %s is being deleted (%s); wait until it is gone", name, deref(g.Status))
	}

	if changes, update := p.groupChanges(g); len(changes) > 0 {
		p.add(OpUpdate, res, strings.Join(changes, "; "), func(ctx context.Context, st *applyState) error {
			in := update(st)
			_, err := p.clients.AutoScaling.UpdateAutoScalingGroup(ctx, in)
			return err
		})
	}
	suspended := false
	for _, sp := range g.SuspendedProcesses {
		suspended = suspended || deref(sp.ProcessName) == "AZRebalance"
	}
	if !suspended {
		p.addSuspend(name)
	}
	var unprotected []string
	for _, i := range g.Instances {
		if !deref(i.ProtectedFromScaleIn) && !strings.HasPrefix(string(i.LifecycleState), "Terminat") {
			unprotected = append(unprotected, deref(i.InstanceId))
		}
	}
	if len(unprotected) > 0 {
		p.add(OpUpdate, "instance protection of "+name, "protect "+strings.Join(unprotected, ", ")+" from scale-in", func(ctx context.Context, _ *applyState) error {
			for ids := range slices.Chunk(unprotected, 50) {
				if _, err := p.clients.AutoScaling.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
					AutoScalingGroupName: aws.String(name), InstanceIds: ids, ProtectedFromScaleIn: aws.Bool(true),
				}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := p.planPolicies(ctx); err != nil {
		return err
	}
	p.planTags(g.Tags)
	return nil
}

func (p *Plan) addSuspend(name string) {
	p.add(OpUpdate, "scaling processes of "+name, "suspend AZRebalance (it terminates busy instances to even out AZs)", func(ctx context.Context, _ *applyState) error {
		_, err := p.clients.AutoScaling.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{
			AutoScalingGroupName: aws.String(name), ScalingProcesses: []string{"AZRebalance"},
		})
		return err
	})
}

// groupChanges compares an existing group with the spec; update builds the
// one UpdateAutoScalingGroup call that fixes every difference.
func (p *Plan) groupChanges(g astypes.AutoScalingGroup) ([]string, func(*applyState) *autoscaling.UpdateAutoScalingGroupInput) {
	var ch []string
	diff := func(what string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			ch = append(ch, fmt.Sprintf("%s %v → %v", what, got, want))
		}
	}
	diff("min size", deref(g.MinSize), 0)
	diff("max size", deref(g.MaxSize), p.Spec.MaxSize)
	if d := int(deref(g.DesiredCapacity)); p.Spec.MaxSize < d {
		// AWS lowers desired capacity with MaxSize; protected instances stay.
		ch = append(ch, fmt.Sprintf("desired capacity %d → %d (lowered with max size)", d, p.Spec.MaxSize))
	}
	gotSubnets := strings.Split(deref(g.VPCZoneIdentifier), ",")
	if deref(g.VPCZoneIdentifier) == "" {
		gotSubnets = nil
	}
	diff("subnets", strings.Join(slices.Sorted(slices.Values(gotSubnets)), ","), strings.Join(slices.Sorted(slices.Values(p.Spec.Subnets)), ","))
	diff("scale-in protection", deref(g.NewInstancesProtectedFromScaleIn), true)
	diff("capacity rebalance", deref(g.CapacityRebalance), false)
	lifetime := deref(g.MaxInstanceLifetime)
	if lifetime != 0 {
		ch = append(ch, fmt.Sprintf("max instance lifetime %ds → none", lifetime))
	}
	capType := deref(g.DesiredCapacityType)
	if capType != "" && capType != "units" {
		ch = append(ch, "desired capacity type "+capType+" → units")
	}

	var ltID, ltVersion, strategy string
	var types []string
	var base, pct int32 = -1, -1
	weighted := false
	if m := g.MixedInstancesPolicy; m != nil {
		if lt := m.LaunchTemplate; lt != nil {
			if s := lt.LaunchTemplateSpecification; s != nil {
				ltID, ltVersion = deref(s.LaunchTemplateId), deref(s.Version)
			}
			for _, o := range lt.Overrides {
				types = append(types, deref(o.InstanceType))
				weighted = weighted || (o.WeightedCapacity != nil && deref(o.WeightedCapacity) != "1")
			}
		}
		if d := m.InstancesDistribution; d != nil {
			base, pct, strategy = deref(d.OnDemandBaseCapacity), deref(d.OnDemandPercentageAboveBaseCapacity), deref(d.SpotAllocationStrategy)
		}
	} else {
		ch = append(ch, "no mixed instances policy → spot/on-demand mixed instances policy")
	}
	if g.MixedInstancesPolicy != nil {
		switch {
		case p.state.templateVersion == "":
			ch = append(ch, fmt.Sprintf("launch template %s version %s → the new version", orNone(ltID), orNone(ltVersion)))
		case ltID != p.state.templateID || ltVersion != p.state.templateVersion:
			ch = append(ch, fmt.Sprintf("launch template %s version %s → %s version %s", orNone(ltID), orNone(ltVersion), p.state.templateID, p.state.templateVersion))
		}
		diff("instance types", strings.Join(types, ","), strings.Join(p.Spec.InstanceTypes, ","))
		if weighted {
			ch = append(ch, "instance weights → none")
		}
		diff("on-demand base", base, p.Spec.OnDemandBase)
		diff("on-demand percentage above base", pct, p.Spec.OnDemandPercentage)
		diff("spot allocation strategy", strategy, p.Spec.SpotAllocationStrategy)
	}

	update := func(st *applyState) *autoscaling.UpdateAutoScalingGroupInput {
		in := &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(p.Spec.Name),
			MinSize:              aws.Int32(0), MaxSize: aws.Int32(int32(p.Spec.MaxSize)),
			VPCZoneIdentifier:                aws.String(strings.Join(p.Spec.Subnets, ",")),
			MixedInstancesPolicy:             p.mixedPolicy(st),
			NewInstancesProtectedFromScaleIn: aws.Bool(true),
			CapacityRebalance:                aws.Bool(false),
		}
		if lifetime != 0 {
			in.MaxInstanceLifetime = aws.Int32(0) // 0 clears it
		}
		if capType != "" && capType != "units" {
			in.DesiredCapacityType = aws.String("units")
		}
		return in
	}
	return ch, update
}

func (p *Plan) planPolicies(ctx context.Context) error {
	name := p.Spec.Name
	pager := autoscaling.NewDescribePoliciesPaginator(p.clients.AutoScaling, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(name)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing scaling policies of %s: %w", name, err)
		}
		for _, pol := range page.ScalingPolicies {
			policy := deref(pol.PolicyName)
			p.add(OpDelete, "scaling policy "+policy, "it changes desired capacity behind the runner's back", func(ctx context.Context, _ *applyState) error {
				_, err := p.clients.AutoScaling.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String(name), PolicyName: aws.String(policy)})
				return err
			})
		}
	}
	return nil
}

// planTags adds or corrects setup's tags; other tags are left alone.
func (p *Plan) planTags(have []astypes.TagDescription) {
	current := map[string]string{}
	propagated := map[string]bool{}
	for _, t := range have {
		current[deref(t.Key)] = deref(t.Value)
		propagated[deref(t.Key)] = deref(t.PropagateAtLaunch)
	}
	var keys, pairs []string
	for _, k := range sortedKeys(p.Spec.Tags) {
		if v, ok := current[k]; !ok || v != p.Spec.Tags[k] || !propagated[k] {
			keys = append(keys, k)
			pairs = append(pairs, k+"="+p.Spec.Tags[k])
		}
	}
	if len(keys) == 0 {
		return
	}
	p.add(OpUpdate, "tags of "+p.Spec.Name, "set "+strings.Join(pairs, ", ")+" (propagated to instances)", func(ctx context.Context, _ *applyState) error {
		_, err := p.clients.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: p.groupTags(keys)})
		return err
	})
}
