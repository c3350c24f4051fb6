package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/hashicorp/go-hclog"
)

// FallbackTagKey is the group tag holding the on-demand percentage the
// fallback replaced. It is written (and confirmed) before the percentage
// changes and deleted only after a describe shows the percentage restored,
// so whatever answer is lost, and whenever the process stops, the way back
// is recorded: a later update, Shutdown or the next start restores it.
const FallbackTagKey = "ec2spot:fallback-original-od-percentage"

// FallbackOptions configure the on-demand fallback.
type FallbackOptions struct {
	// After is how long desired capacity may stay above what is launching
	// or in service, with a spot capacity failure seen, before the group
	// is switched to on-demand.
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
	phaseOnDemand                      // maybe switched: the original percentage is to be restored
	phaseProbing                       // original restored after a hold; watching
)

// fallbackEnv is what the fallback needs around it: the group's name and
// API, the clock, the log, the launch failures that are its evidence, and
// where its phase changes go.
type fallbackEnv struct {
	group           interface{ Name() string }
	clients         Clients
	now             func() time.Time
	log             hclog.Logger
	failures        *launchFailures
	observeFallback func(p fallbackPhase, switched string)
}

// fallback drives the on-demand fallback. It exists without FallbackOptions
// too (enabled false): it then only finishes a fallback an earlier process
// left in force.
type fallback struct {
	s       fallbackEnv // what it needs of the Spot it serves
	o       FallbackOptions
	enabled bool

	mu         sync.Mutex
	phase      fallbackPhase
	original   int
	switchedAt time.Time
	probeAt    time.Time
	hold       time.Duration
	shortSince time.Time
	notApplied string // why a switch was not possible, logged once
	// tagLeft: the tag may exist although no fallback is in force (its
	// delete failed or a write's outcome is unknown); it is deleted at the
	// next update or Shutdown, so no later start restores a stale value.
	tagLeft bool
}

func newFallback(s fallbackEnv, o *FallbackOptions) *fallback {
	f := &fallback{s: s}
	if o != nil {
		f.o, f.enabled = *o, true
	}
	if f.o.MaxHold <= 0 {
		f.o.MaxHold = 8 * f.o.Hold
	}
	f.hold = f.o.Hold
	return f
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
	if f.tagLeft && f.phase != phaseOnDemand {
		f.dropTagLocked(ctx)
	}

	switch f.phase {
	case phaseOnDemand:
		if now.Sub(f.switchedAt) >= f.hold {
			f.probeLocked(ctx, now)
		}
	case phaseSpot, phaseProbing:
		if f.enabled && short && now.Sub(f.shortSince) >= f.o.After {
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

// evidence is the spot capacity failure that justifies a switch: one seen
// during this shortage (or up to maxIncreaseHold before it began, which
// covers a restart in the middle of one and clock skew). A shortage alone
// is no evidence: the Launch process may be suspended, or instances may
// wait for something else, and on-demand fixes none of that.
func (f *fallback) evidence() (*LaunchFailure, string, []any) {
	lf := f.s.failures.latestFailure()
	if lf == nil || !lf.StartTime.IsZero() && lf.StartTime.Before(f.shortSince.Add(-maxIncreaseHold)) {
		kv := []any{"short_since", f.shortSince.Format(time.RFC3339)}
		if err := f.s.failures.lastError(); err != nil {
			return nil, "no launch failure is known: the group's scaling activities cannot be read (allow autoscaling:DescribeScalingActivities)", append(kv, "error", err)
		}
		return nil, "the group is short of capacity but its scaling activities show no spot capacity failure (is the Launch process suspended, or are instances held by a lifecycle hook?)", kv
	}
	if !lf.Class.FallbackHelps() {
		return nil, "the launches fail for a reason on-demand does not fix", []any{"reason", string(lf.Class), "cause", lf.Cause}
	}
	return lf, "", nil
}

// switchLocked moves the group to 100 % on-demand above the base. Order:
// the original percentage goes into the group tag and is confirmed there,
// then the percentage changes. A switch whose answer is lost is confirmed
// by describing; one that cannot be confirmed counts as done, so the
// restore (harmless if it never happened) runs.
func (f *fallback) switchLocked(ctx context.Context, snap *Snapshot, now time.Time) {
	lf, why, kv := f.evidence()
	if lf == nil {
		f.notAppliedLocked(why, kv...)
		return
	}
	api, name := f.s.clients.AutoScaling, f.s.group.Name()
	g, err := describeGroupSettings(ctx, api, name)
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

	if err := f.recordLocked(ctx, pct); err != nil {
		f.s.log.Error("on-demand fallback: recording the original on-demand percentage in the group tag failed; not switching", "tag", FallbackTagKey, "error", err)
		return
	}
	switched, err := switchConfirmed(ctx, api, name)
	switch {
	case !switched && !mayHaveApplied(err):
		f.s.log.Error("on-demand fallback: switching the group to on-demand failed", "error", err)
		// Not applied: the record goes, or a later start would "restore" a
		// value the operator may have changed since.
		f.tagLeft = true
		f.dropTagLocked(ctx)
		return
	case !switched:
		// The describe shows no switch, but a late one cannot be ruled
		// out: the record stays (a later start restores the same value).
		f.s.log.Error("on-demand fallback: switching the group to on-demand failed; the group shows the original percentage, the group tag stays in case the switch lands late", "tag", FallbackTagKey, "error", err)
		return
	}
	if err != nil {
		f.s.log.Warn("on-demand fallback: the answer to the switch was lost; treating the group as switched (the original percentage is recorded and will be restored)", "error", err)
	}

	if f.phase == phaseProbing {
		f.hold = min(f.hold*2, f.o.MaxHold)
	} else {
		f.hold = f.o.Hold
	}
	cause := fmt.Sprintf("desired capacity %d unfilled for %s (%d launching or in service)",
		snap.Desired, now.Sub(f.shortSince).Round(time.Second), fillingCount(snap))
	kv = []any{"cause", cause, "original_on_demand_percentage", pct, "on_demand_percentage", 100, "hold", f.hold.String(), "last_launch_failure", lf.Cause}
	if f.phase == phaseProbing {
		f.s.log.Warn("spot capacity still unavailable after restoring the original setting; switching the group back to on-demand with a longer hold", kv...)
	} else {
		f.s.log.Warn("spot capacity unavailable: switched the group to on-demand (OnDemandPercentageAboveBaseCapacity 100)", kv...)
	}
	f.phase, f.original, f.switchedAt, f.notApplied, f.tagLeft = phaseOnDemand, pct, now, "", false
	f.s.observeFallback(phaseOnDemand, "to_on_demand")
}

// recordLocked writes the original percentage to the group tag. A write
// whose answer is lost is confirmed by describing; if even that fails the
// tag may exist, and tagLeft has it removed later.
func (f *fallback) recordLocked(ctx context.Context, pct int) error {
	api, name := f.s.clients.AutoScaling, f.s.group.Name()
	err := putFallbackTag(ctx, api, name, pct)
	if err == nil || !mayHaveApplied(err) {
		return err
	}
	g, derr := describeGroupSettings(ctx, api, name)
	if derr != nil {
		f.tagLeft = true
		return errors.Join(err, derr)
	}
	if v, ok := groupTag(g, FallbackTagKey); ok && v == strconv.Itoa(pct) {
		f.s.log.Warn("on-demand fallback: the answer to writing the group tag was lost; the group shows it written", "tag", FallbackTagKey, "error", err)
		return nil
	}
	return err
}

// dropTagLocked deletes a tag left behind by a fallback that is not in
// force; a failure keeps tagLeft for the next try.
func (f *fallback) dropTagLocked(ctx context.Context) {
	if err := deleteFallbackTag(ctx, f.s.clients.AutoScaling, f.s.group.Name()); err != nil {
		f.s.log.Warn("on-demand fallback: removing the group tag failed; retrying at the next update", "tag", FallbackTagKey, "error", err)
		return
	}
	f.tagLeft = false
}

func (f *fallback) notAppliedLocked(why string, kv ...any) {
	if f.notApplied == why {
		return
	}
	f.notApplied = why
	f.s.log.Warn("on-demand fallback not applied: "+why, kv...)
}

// probeLocked restores the original percentage after the hold: the next
// launches show whether spot works again. Without the fallback enabled it
// only finishes a fallback an earlier process left in force.
func (f *fallback) probeLocked(ctx context.Context, now time.Time) {
	if !f.restoreLocked(ctx) {
		return
	}
	if !f.enabled {
		f.phase = phaseSpot
		f.s.log.Warn("restored the on-demand percentage an earlier plugin process had switched for the on-demand fallback", "on_demand_percentage", f.original, "tag", FallbackTagKey)
		return
	}
	f.s.log.Info("on-demand fallback hold elapsed: restored the original on-demand percentage to try spot again",
		"on_demand_percentage", f.original, "held_for", now.Sub(f.switchedAt).Round(time.Second).String())
	f.phase, f.probeAt, f.shortSince = phaseProbing, now, time.Time{}
	f.s.observeFallback(phaseProbing, "to_spot")
}

// restoreLocked sets the original percentage back and reports whether a
// describe confirmed it; only then is the tag deleted (a failed delete
// leaves tagLeft). Not restored: the phase stays on-demand, so the next
// update, Shutdown or start tries again.
func (f *fallback) restoreLocked(ctx context.Context) bool {
	restored, err := restoreConfirmed(ctx, f.s.clients.AutoScaling, f.s.group.Name(), f.original)
	if !restored {
		f.s.log.Error("on-demand fallback: restoring the original on-demand percentage failed; retrying at the next update (Shutdown and the next start also restore it from the group tag)",
			"on_demand_percentage", f.original, "tag", FallbackTagKey, "error", err)
		return false
	}
	if err != nil {
		f.tagLeft = true
		f.s.log.Warn("on-demand fallback: restored the original on-demand percentage, but removing the group tag failed; retrying at the next update", "tag", FallbackTagKey, "error", err)
	}
	return true
}

// restoreOnStop restores the group when the plugin shuts down mid-fallback
// and removes a tag left behind.
func (f *fallback) restoreOnStop(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.phase == phaseOnDemand {
		if !f.restoreLocked(ctx) {
			return
		}
		f.phase = phaseSpot
		f.s.observeFallback(phaseSpot, "to_spot")
		f.s.log.Info("on-demand fallback ended at shutdown: restored the original on-demand percentage", "on_demand_percentage", f.original)
	}
	if f.tagLeft {
		f.dropTagLocked(ctx)
	}
}

// restoreFallbackTag undoes a fallback an earlier process left in force
// (the tag exists). What it cannot restore now stays in force in this
// process's fallback, so every update and Shutdown tries again.
func restoreFallbackTag(ctx context.Context, f *fallback, g *types.AutoScalingGroup) {
	value, ok := groupTag(g, FallbackTagKey)
	if !ok {
		return
	}
	pct, err := strconv.Atoi(value)
	if err != nil || pct < 0 || pct > 100 {
		f.s.log.Error("group tag of the on-demand fallback holds no percentage; leaving the group as it is: set OnDemandPercentageAboveBaseCapacity by hand and delete the tag", "tag", FallbackTagKey, "value", value)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Failures are logged, not returned: the runner still works with the
	// group on-demand.
	f.phase, f.original, f.switchedAt = phaseOnDemand, pct, time.Time{}
	if !f.restoreLocked(ctx) {
		f.s.observeFallback(phaseOnDemand, "")
		return
	}
	f.phase = phaseSpot
	current, _ := onDemandPercentage(g)
	f.s.observeFallback(phaseSpot, "to_spot")
	if mip := g.MixedInstancesPolicy; mip != nil { // what the fleet reconcile compares with
		if mip.InstancesDistribution == nil {
			mip.InstancesDistribution = &types.InstancesDistribution{}
		}
		mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity = aws.Int32(int32(pct))
	}
	f.s.log.Warn("restored the on-demand percentage an earlier plugin process had switched for the on-demand fallback (it stopped without restoring it)",
		"on_demand_percentage", pct, "was", current, "tag", FallbackTagKey)
}

// switchConfirmed sets the percentage to 100. A failure that may have
// taken effect is confirmed by describing; one that cannot be confirmed
// counts as switched (err says why).
func switchConfirmed(ctx context.Context, api AutoScalingAPI, name string) (switched bool, err error) {
	err = setOnDemandPercentage(ctx, api, name, 100)
	if err == nil || !mayHaveApplied(err) {
		return err == nil, err
	}
	g, derr := describeGroupSettings(ctx, api, name)
	if derr != nil {
		return true, errors.Join(err, derr)
	}
	pct, _ := onDemandPercentage(g)
	return pct == 100, err
}

// restoreConfirmed sets the percentage back to pct, describes the group,
// and only when the describe shows pct deletes the tag. restored says the
// percentage is back; err with restored is the tag's failed delete.
func restoreConfirmed(ctx context.Context, api AutoScalingAPI, name string, pct int) (restored bool, err error) {
	uerr := setOnDemandPercentage(ctx, api, name, pct)
	if uerr != nil && !mayHaveApplied(uerr) {
		return false, uerr
	}
	g, err := describeGroupSettings(ctx, api, name)
	if err != nil {
		return false, errors.Join(uerr, err)
	}
	if got, _ := onDemandPercentage(g); got != pct {
		return false, errors.Join(uerr, fmt.Errorf("the group shows OnDemandPercentageAboveBaseCapacity %d, not the restored %d", got, pct))
	}
	return true, deleteFallbackTag(ctx, api, name)
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
