package ec2spot

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// A member AWS terminates on its own (a spot reclaim, a health replacement,
// an EC2 TerminateInstances) leaves without a decrement: the group replaces
// it. When the runner Decreases such a member it wants it gone, not
// replaced, so the plugin lowers desired capacity for it, once.
//
// If the replacement has already launched (desired capacity is filled by
// the members still live) desired capacity is left alone: the replacement
// reaches the runner as a new instance, which it uses or removes (with a
// decrement) like any other. Lowering desired capacity under it would
// leave the group with fewer desired than live instances: on a protected
// group a later decrementing terminate would then hit MinSize and fail, on
// an unprotected one AWS would pick a victim itself, possibly a busy one.

// mayLowerFor: desired capacity may still count id, which the plugin did
// not terminate with a decrement nor lower desired capacity for (its own
// terminate of a member AWS retained after taking it had no decrement:
// desired capacity still counts that replacement too).
func (g *Group) mayLowerFor(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.decremented[id]
}

// mayTerminateStandby: desired capacity was lowered for id as it went to
// Standby for a spot interruption notice (LowerForNotices), so a Decrease
// terminates it, without a decrement.
func (g *Group) mayTerminateStandby(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.decremented[id]
}

// lowerForReclaimed lowers desired capacity by one for each out[idx] that
// AWS is terminating without a decrement and whose replacement has not
// launched, with one describe and one SetDesiredCapacity; an ambiguous
// failure is confirmed by describing, never repeated.
func (g *Group) lowerForReclaimed(ctx context.Context, out []DecreaseOutcome, idx []int) {
	if len(idx) == 0 {
		return
	}
	// fail marks the ids in only (all when nil) failed.
	fail := func(err error, only map[string]bool) {
		for _, n := range idx {
			if only != nil && !only[out[n].ID] {
				continue
			}
			out[n].Status = DecreaseFailed
			out[n].Err = fmt.Errorf("AWS is already terminating the instance without lowering desired capacity, and lowering it failed (retried so the group does not replace the instance): %w", err)
		}
	}
	// Judged like an Update: desired capacity changed outside the plugin
	// is adopted before building on it.
	fresh, drift, err := g.refreshLocked(ctx)
	if err != nil {
		fail(err, nil)
		return
	}
	var leaving []string
	lowered := map[string]bool{}
	for _, n := range idx {
		if inst, ok := fresh.Instance(out[n].ID); ok && (inst.Phase == PhaseTerminating || inst.Phase == PhaseTerminated || inst.Phase == PhaseRetained) {
			leaving = append(leaving, out[n].ID)
		}
	}

	g.mu.Lock()
	filling := g.fillingLocked(fresh)
	from := g.expected
	// Never below the members filling capacity (their replacement is there)
	// nor below MinSize (AWS would refuse).
	k := min(len(leaving), from-filling, from-fresh.MinSize)
	for _, id := range leaving[:max(k, 0)] {
		lowered[id] = true
	}
	for _, id := range leaving {
		// Accounted for either way: lowered now, or already replaced.
		g.decremented[id] = true
	}
	g.mu.Unlock()
	// Desired capacity just changed outside the plugin (an operator's
	// decrementing terminate of this very instance, say): lowering it again
	// could break a pending request; a spare replacement costs less.
	if k <= 0 || drift != nil {
		return
	}
	done := func() {
		for _, n := range idx {
			if lowered[out[n].ID] {
				out[n].Status = DecreaseLoweredDesired
			}
		}
	}

	to := from - k
	_, err = g.clients.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.name),
		DesiredCapacity:      aws.Int32(int32(to)),
		HonorCooldown:        aws.Bool(false),
	})
	if err != nil && ambiguous(err) {
		if again, derr := g.observeLocked(ctx); derr == nil && again.Desired == to {
			err = nil
		}
	}
	if err != nil {
		g.mu.Lock()
		for id := range lowered {
			delete(g.decremented, id)
		}
		g.mu.Unlock()
		fail(explain("autoscaling:SetDesiredCapacity", err), lowered)
		return
	}
	g.ownChange(to)
	done()
}
