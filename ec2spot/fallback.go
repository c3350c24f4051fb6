package ec2spot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// FallbackTagKey is the group tag holding the on-demand percentage the
// fallback replaced. It exists exactly while the fallback is in force, so
// a process that dies mid-fallback leaves the way back behind: the next
// Init restores the value and deletes the tag.
const FallbackTagKey = "ec2spot:fallback-original-od-percentage"

// FallbackOptions configure the on-demand fallback.
type FallbackOptions struct {
	// After is how long desired capacity may stay above what is launching
	// or in service before the group is switched to on-demand.
	After time.Duration
	// Hold is how long the group stays on-demand before spot is probed by
	// restoring the original percentage. Each failed probe doubles it, up
	// to MaxHold (0 = 8 × Hold).
	Hold    time.Duration
	MaxHold time.Duration
}

type fallbackPhase int

const (
	phaseSpot     fallbackPhase = iota // original setting, spot works (or untested)
	phaseOnDemand                      // OnDemandPercentageAboveBaseCapacity = 100
	phaseProbing                       // original restored after a hold; watching
)

type fallback struct {
	s *Spot
	o FallbackOptions

	mu         sync.Mutex
	phase      fallbackPhase
	original   int
	switchedAt time.Time
	probeAt    time.Time
	hold       time.Duration
	shortSince time.Time
	notApplied string // why a switch was not possible, logged once
}

func newFallback(s *Spot, o FallbackOptions) *fallback {
	if o.MaxHold <= 0 {
		o.MaxHold = 8 * o.Hold
	}
	return &fallback{s: s, o: o, hold: o.Hold}
}

func (f *fallback) active() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phase == phaseOnDemand
}

// observe runs once per Update with whether the group is short of capacity.
func (f *fallback) observe(ctx context.Context, snap *Snapshot, short bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.s.now()
	switch {
	case !short:
		f.shortSince = time.Time{}
	case f.shortSince.IsZero():
		f.shortSince = now
	}

	switch f.phase {
	case phaseOnDemand:
		if now.Sub(f.switchedAt) >= f.hold {
			f.probeLocked(ctx, now)
		}
	case phaseSpot, phaseProbing:
		if short && now.Sub(f.shortSince) >= f.o.After {
			f.switchLocked(ctx, snap, now)
			return
		}
		if f.phase == phaseProbing && now.Sub(f.probeAt) >= f.o.Hold && !short {
			f.phase, f.hold = phaseSpot, f.o.Hold
			f.s.observeFallback(phaseSpot, "")
			f.s.log.Info("on-demand fallback over: spot capacity is back", "on_demand_percentage", f.original)
		}
	}
}

// switchLocked moves the group to 100 % on-demand above the base, recording
// the original percentage in the group tag first.
func (f *fallback) switchLocked(ctx context.Context, snap *Snapshot, now time.Time) {
	lf := f.s.failures.latestFailure()
	if lf != nil && !lf.Class.FallbackHelps() {
		f.notAppliedLocked("the launches fail for a reason on-demand does not fix", "reason", string(lf.Class), "cause", lf.Cause)
		return
	}
	g, err := describeGroupSettings(ctx, f.s.clients.AutoScaling, f.s.group.Name())
	if err != nil {
		f.s.log.Error("on-demand fallback: reading the group failed", "error", err)
		return
	}
	pct, ok := onDemandPercentage(g)
	switch {
	case !ok:
		f.notAppliedLocked("the group has no mixed instances policy (it launches one market only)")
		return
	case pct >= 100:
		f.notAppliedLocked("the group is already all on-demand above its base", "on_demand_percentage", pct)
		return
	}

	if err := putFallbackTag(ctx, f.s.clients.AutoScaling, f.s.group.Name(), pct); err != nil {
		f.s.log.Error("on-demand fallback: recording the original on-demand percentage in the group tag failed; not switching", "tag", FallbackTagKey, "error", err)
		return
	}
	if err := setOnDemandPercentage(ctx, f.s.clients.AutoScaling, f.s.group.Name(), 100); err != nil {
		f.s.log.Error("on-demand fallback: switching the group to on-demand failed", "error", err)
		if derr := deleteFallbackTag(ctx, f.s.clients.AutoScaling, f.s.group.Name()); derr != nil {
			f.s.log.Warn("on-demand fallback: removing the group tag failed", "tag", FallbackTagKey, "error", derr)
		}
		return
	}

	if f.phase == phaseProbing {
		f.hold = min(f.hold*2, f.o.MaxHold)
	} else {
		f.hold = f.o.Hold
	}
	cause := fmt.Sprintf("desired capacity %d unfilled for %s (%d launching or in service)",
		snap.Desired, now.Sub(f.shortSince).Round(time.Second), fillingCount(snap))
	kv := []any{"cause", cause, "original_on_demand_percentage", pct, "on_demand_percentage", 100, "hold", f.hold.String()}
	if lf != nil {
		kv = append(kv, "last_launch_failure", lf.Cause)
	}
	if f.phase == phaseProbing {
		f.s.log.Warn("spot capacity still unavailable after restoring the original setting; switching the group back to on-demand with a longer hold", kv...)
	} else {
		f.s.log.Warn("spot capacity unavailable: switched the group to on-demand (OnDemandPercentageAboveBaseCapacity 100)", kv...)
	}
	f.phase, f.original, f.switchedAt, f.notApplied = phaseOnDemand, pct, now, ""
	f.s.observeFallback(phaseOnDemand, "to_on_demand")
}

func (f *fallback) notAppliedLocked(why string, kv ...any) {
	if f.notApplied == why {
		return
	}
	f.notApplied = why
	f.s.log.Warn("on-demand fallback not applied: "+why, kv...)
}

// probeLocked restores the original percentage after the hold: the next
// launches show whether spot works again.
func (f *fallback) probeLocked(ctx context.Context, now time.Time) {
	if err := f.restore(ctx); err != nil {
		f.s.log.Error("on-demand fallback: restoring the original on-demand percentage failed; retrying at the next update", "on_demand_percentage", f.original, "error", err)
		return
	}
	f.s.log.Info("on-demand fallback hold elapsed: restored the original on-demand percentage to try spot again",
		"on_demand_percentage", f.original, "held_for", now.Sub(f.switchedAt).Round(time.Second).String())
	f.phase, f.probeAt, f.shortSince = phaseProbing, now, time.Time{}
	f.s.observeFallback(phaseProbing, "to_spot")
}

// restore sets the original percentage back and then drops the tag, in
// that order: a failure in between leaves the tag, so Init restores again.
func (f *fallback) restore(ctx context.Context) error {
	if err := setOnDemandPercentage(ctx, f.s.clients.AutoScaling, f.s.group.Name(), f.original); err != nil {
		return err
	}
	return deleteFallbackTag(ctx, f.s.clients.AutoScaling, f.s.group.Name())
}

// restoreOnStop restores the group when the plugin shuts down mid-fallback.
func (f *fallback) restoreOnStop(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.phase != phaseOnDemand {
		return
	}
	if err := f.restore(ctx); err != nil {
		f.s.log.Error("on-demand fallback: restoring the original on-demand percentage at shutdown failed; the next start restores it from the group tag", "tag", FallbackTagKey, "error", err)
		return
	}
	f.phase = phaseSpot
	f.s.observeFallback(phaseSpot, "to_spot")
	f.s.log.Info("on-demand fallback ended at shutdown: restored the original on-demand percentage", "on_demand_percentage", f.original)
}

// restoreFallbackTag undoes a fallback an earlier process left in force.
func restoreFallbackTag(ctx context.Context, s *Spot, g *types.AutoScalingGroup) {
	value, ok := groupTag(g, FallbackTagKey)
	if !ok {
		return
	}
	pct, err := strconv.Atoi(value)
	if err != nil || pct < 0 || pct > 100 {
		s.log.Error("group tag of the on-demand fallback holds no percentage; leaving the group as it is: set OnDemandPercentageAboveBaseCapacity by hand and delete the tag", "tag", FallbackTagKey, "value", value)
		return
	}
	// Failures are logged, not returned: the runner still works with the
	// group on-demand, and the tag stays for the next attempt.
	if err := setOnDemandPercentage(ctx, s.clients.AutoScaling, s.group.Name(), pct); err != nil {
		s.log.Error("restoring the on-demand percentage an earlier plugin process had switched for the on-demand fallback failed; the group stays on-demand until it is restored",
			"on_demand_percentage", pct, "tag", FallbackTagKey, "error", err)
		return
	}
	if err := deleteFallbackTag(ctx, s.clients.AutoScaling, s.group.Name()); err != nil {
		s.log.Warn("removing the on-demand fallback's group tag failed; the next start restores the same value again", "tag", FallbackTagKey, "error", err)
	}
	current, _ := onDemandPercentage(g)
	s.observeFallback(phaseSpot, "to_spot")
	if mip := g.MixedInstancesPolicy; mip != nil { // what the fleet reconcile compares with
		if mip.InstancesDistribution == nil {
			mip.InstancesDistribution = &types.InstancesDistribution{}
		}
		mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity = aws.Int32(int32(pct))
	}
	s.log.Warn("restored the on-demand percentage an earlier plugin process had switched for the on-demand fallback (it stopped without restoring it)",
		"on_demand_percentage", pct, "was", current, "tag", FallbackTagKey)
}

// describeGroupSettings reads the group without its instances.
func describeGroupSettings(ctx context.Context, api AutoScalingAPI, name string) (*types.AutoScalingGroup, error) {
	out, err := api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
		IncludeInstances:      aws.Bool(false),
	})
	if err != nil {
		return nil, explain("autoscaling:DescribeAutoScalingGroups", err)
	}
	for i := range out.AutoScalingGroups {
		if aws.ToString(out.AutoScalingGroups[i].AutoScalingGroupName) == name {
			return &out.AutoScalingGroups[i], nil
		}
	}
	return nil, &GroupNotFoundError{Name: name}
}

func onDemandPercentage(g *types.AutoScalingGroup) (int, bool) {
	mip := g.MixedInstancesPolicy
	if mip == nil {
		return 0, false
	}
	if mip.InstancesDistribution == nil || mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity == nil {
		return 100, true // AWS's default
	}
	return int(*mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity), true
}

func groupTag(g *types.AutoScalingGroup, key string) (string, bool) {
	for _, t := range g.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

func setOnDemandPercentage(ctx context.Context, api AutoScalingAPI, name string, pct int) error {
	_, err := api.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		MixedInstancesPolicy: &types.MixedInstancesPolicy{
			InstancesDistribution: &types.InstancesDistribution{OnDemandPercentageAboveBaseCapacity: aws.Int32(int32(pct))},
		},
	})
	if err != nil {
		return explain("autoscaling:UpdateAutoScalingGroup", err)
	}
	return nil
}

func putFallbackTag(ctx context.Context, api AutoScalingAPI, name string, pct int) error {
	_, err := api.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []types.Tag{fallbackTag(name, strconv.Itoa(pct))}})
	if err != nil {
		return explain("autoscaling:CreateOrUpdateTags", err)
	}
	return nil
}

func deleteFallbackTag(ctx context.Context, api AutoScalingAPI, name string) error {
	_, err := api.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []types.Tag{fallbackTag(name, "")}})
	if err != nil {
		return explain("autoscaling:DeleteTags", err)
	}
	return nil
}

func fallbackTag(group, value string) types.Tag {
	return types.Tag{
		ResourceId:        aws.String(group),
		ResourceType:      aws.String("auto-scaling-group"),
		Key:               aws.String(FallbackTagKey),
		Value:             aws.String(value),
		PropagateAtLaunch: aws.Bool(false),
	}
}
