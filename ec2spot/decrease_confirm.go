package ec2spot

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Whether a decrementing terminate lowered desired capacity is not known
// from "AWS accepted it" alone. Decrease decides from a snapshot that may
// be older than AWS's own actions: an instance AWS started terminating
// since (a health check, a spot reclaim, an EC2 TerminateInstances) is
// already leaving without a decrement, and terminating it again lowers
// nothing. Counting such a decrement that never happened leaves desired
// capacity one above what the runner asked for: the group launches a
// replacement nobody wants. So a decrement counts when AWS's answer shows
// it, else it is confirmed from desired capacity, in one describe shared
// with the confirmation of failures that may not be what they seem.

// decrementShown: AWS's answer shows that terminating id lowered desired
// capacity (its activity for id says "shrinking the capacity", AWS's
// wording for a decrementing terminate). Anything else (the activity of a
// termination already under way, other wording, no activity) is confirmed
// by describing.
func decrementShown(acts []types.Activity, id string) bool {
	for _, a := range acts {
		cause := aws.ToString(a.Cause)
		if (strings.Contains(aws.ToString(a.Description), id) || strings.Contains(cause, id)) &&
			strings.Contains(cause, "shrinking the capacity") {
			return true
		}
	}
	return false
}

// accepted records out[n] as terminated: AWS accepted the call whose answer
// carried acts.
func (g *Group) accepted(out []DecreaseOutcome, n int, decrement bool, acts []types.Activity) {
	id := out[n].ID
	out[n] = DecreaseOutcome{ID: id, Status: DecreaseRequested}
	if decrement && !decrementShown(acts, id) {
		out[n].unconfirmed = true
		g.mu.Lock()
		g.terminating[id] = g.now()
		g.mu.Unlock()
		return
	}
	g.terminated(id, decrement)
}

// confirmTerminations looks at the group once after terminate calls whose
// effect is not known: failures that may not be what they seem (a
// ValidationError: the instance may already be terminating or gone; an
// ambiguous failure: the call may have taken effect, its answer lost) and
// accepted decrementing terminates whose answer does not show the
// decrement. It returns the members found terminating without a decrement,
// for which desired capacity is to be lowered (lowerForReclaimed).
func (g *Group) confirmTerminations(ctx context.Context, snap *Snapshot, out []DecreaseOutcome, idx []int) []int {
	var unsure, unconfirmed []int
	for _, n := range idx {
		switch {
		case out[n].Status == DecreaseFailed && (isValidationError(out[n].Err) || ambiguous(out[n].Err)):
			unsure = append(unsure, n)
		case out[n].unconfirmed:
			unconfirmed = append(unconfirmed, n)
		}
	}
	if len(unsure) == 0 && len(unconfirmed) == 0 {
		return nil
	}
	fresh, err := g.observeLocked(ctx)
	if err != nil {
		// The failures stand (fleeting asks again); AWS accepted the rest
		// with a decrement, which counts as it did before describing.
		for _, n := range unconfirmed {
			out[n].unconfirmed = false
			g.terminated(out[n].ID, true)
		}
		return nil
	}
	// Only a call that was sent can have taken effect.
	sent := func(err error) bool { return ambiguous(err) && !errors.Is(err, errNotSent) }
	var reclaimed, rejected []int
	maybe := unconfirmed
	for _, n := range unsure {
		st := classifyForDecrease(fresh, out[n].ID, true, g.mayTerminateStandby(out[n].ID))
		if st != DecreaseAlreadyTerminating && st != DecreaseAlreadyGone {
			// Still a live (or retained) member: the failure stands, unless
			// AWS rejected a decrement desired capacity has no room for.
			if inst, _ := fresh.Instance(out[n].ID); st == DecreaseRequested && isValidationError(out[n].Err) &&
				inst.Phase.CountsTowardDesired() && g.decrementFor(snap, out[n].ID) {
				rejected = append(rejected, n)
			}
			continue
		}
		if sent(out[n].Err) {
			if !g.decrementFor(snap, out[n].ID) {
				// A retained instance: no decrement either way.
				g.terminated(out[n].ID, false)
				out[n] = DecreaseOutcome{ID: out[n].ID, Status: DecreaseRequested}
				continue
			}
			// The call may have taken effect, its answer lost; whether it
			// lowered desired capacity is settled below.
			maybe = append(maybe, n)
			continue
		}
		out[n] = DecreaseOutcome{ID: out[n].ID, Status: st}
		if st == DecreaseAlreadyTerminating && g.mayLowerFor(out[n].ID) {
			reclaimed = append(reclaimed, n)
		}
	}
	reclaimed = append(reclaimed, g.settleDecrements(fresh, out, maybe)...)
	g.terminateSurplus(ctx, fresh, out, rejected)
	return reclaimed
}

// settleDecrements accounts for the terminates in out[idx], each of which
// may or may not have lowered desired capacity, from the desired capacity
// fresh shows: the plugin's expectation (which counts every decrement
// already known) minus fresh's value is how many of them did. Those count
// as the plugin's own decrement; the others were already leaving, AWS
// taking them on its own, and are returned so desired capacity is lowered
// for them. Which of them did is not known and does not matter: only the
// count moves desired capacity. A change made outside the plugin at the
// same moment is indistinguishable, as for any describe.
func (g *Group) settleDecrements(fresh *Snapshot, out []DecreaseOutcome, idx []int) []int {
	if len(idx) == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	own := func(n int) {
		id := out[n].ID
		g.terminating[id] = g.now()
		g.decremented[id] = true
		g.expected = max(0, g.expected-1)
		g.pendingSince = g.now()
		out[n] = DecreaseOutcome{ID: id, Status: DecreaseRequested}
	}
	var leaving []int
	for _, n := range idx {
		st := classifyForDecrease(fresh, out[n].ID, true, g.decremented[out[n].ID]) // g.mu held
		if st != DecreaseAlreadyTerminating && st != DecreaseAlreadyGone {
			// Shown live although AWS accepted the terminate (the describe
			// lags behind it): it was live, so the decrement happened.
			own(n)
			continue
		}
		leaving = append(leaving, n)
	}
	took := min(max(g.expected-fresh.Desired, 0), len(leaving))
	var reclaimed []int
	for k, n := range leaving {
		if k < took {
			own(n)
			continue
		}
		// AWS's termination, not the plugin's: fleeting's next Decrease of
		// it (should lowering fail now) must find it so, to lower for it.
		id := out[n].ID
		delete(g.terminating, id)
		st := classifyForDecrease(fresh, id, true, g.decremented[id])
		out[n] = DecreaseOutcome{ID: id, Status: st}
		if st == DecreaseAlreadyTerminating && !g.decremented[id] {
			reclaimed = append(reclaimed, n)
		}
	}
	return reclaimed
}
