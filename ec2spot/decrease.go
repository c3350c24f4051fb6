package ec2spot

import (
	"context"
)

// DecreaseStatus is what Decrease did with one id.
type DecreaseStatus int

const (
	// DecreaseRequested: termination (with decrement) was requested now.
	DecreaseRequested DecreaseStatus = iota
	// DecreaseAlreadyTerminating: the group is already terminating it.
	DecreaseAlreadyTerminating
	// DecreaseAlreadyGone: it was in the group and has left it.
	DecreaseAlreadyGone
	// DecreaseLoweredDesired: AWS was already terminating it on its own
	// (no decrement); the plugin lowered desired capacity for it so the
	// group does not replace it.
	DecreaseLoweredDesired
	// DecreaseRefusedForeign: never seen in the group; not touched.
	DecreaseRefusedForeign
	// DecreaseRefusedOperator: in standby or detaching, i.e. taken over by
	// an operator; not touched.
	DecreaseRefusedOperator
	// DecreaseRefusedWarmPool: a warm-pool instance; not touched.
	DecreaseRefusedWarmPool
	// DecreaseFailed: the terminate call failed (Err).
	DecreaseFailed
)

// Done reports whether the id counts as successfully removed.
func (s DecreaseStatus) Done() bool {
	switch s {
	case DecreaseRequested, DecreaseAlreadyTerminating, DecreaseAlreadyGone, DecreaseLoweredDesired:
		return true
	case DecreaseRefusedForeign, DecreaseRefusedOperator, DecreaseRefusedWarmPool, DecreaseFailed:
		return false
	default:
		return false
	}
}

func (s DecreaseStatus) String() string {
	switch s {
	case DecreaseRequested:
		return "termination requested"
	case DecreaseAlreadyTerminating:
		return "already terminating"
	case DecreaseAlreadyGone:
		return "already gone from the group"
	case DecreaseLoweredDesired:
		return "already terminating by AWS; desired capacity lowered so it is not replaced"
	case DecreaseRefusedForeign:
		return "refused: not a member of the group"
	case DecreaseRefusedOperator:
		return "refused: in standby or detaching (taken over by an operator)"
	case DecreaseRefusedWarmPool:
		return "refused: warm-pool instance"
	case DecreaseFailed:
		return "terminate failed"
	default:
		return "invalid"
	}
}

// DecreaseOutcome is the result for one id.
type DecreaseOutcome struct {
	ID     string
	Status DecreaseStatus
	Err    error // with DecreaseFailed

	// unconfirmed: AWS accepted a decrementing terminate whose answer does
	// not show the decrement (decrease_confirm.go).
	unconfirmed bool
}

// Decrease terminates the given members with a desired-capacity decrement,
// at most TerminateConcurrency at a time, carrying on past failures. Ids
// that do not belong to the group are never touched. A member AWS is
// already terminating on its own (a spot reclaim, a health replacement)
// has desired capacity lowered for it once, so the group does not replace
// it. Outcomes follow the order of ids, duplicates removed.
func (g *Group) Decrease(ctx context.Context, ids []string) ([]DecreaseOutcome, error) {
	return g.decrease(ctx, ids, true)
}

// decrease is Decrease; byRunner is false for the plugin's own terminate of
// retained members, which the runner did not remove: desired capacity is
// never lowered for those (their replacement is the runner's).
func (g *Group) decrease(ctx context.Context, ids []string, byRunner bool) ([]DecreaseOutcome, error) {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	g.opMu.Lock()
	defer g.opMu.Unlock()

	snap, err := g.latestOrRefresh(ctx)
	if err != nil {
		return nil, err
	}
	// An id the snapshot does not know may have launched since: look once more.
	for _, id := range ids {
		if _, ok := snap.Instance(id); !ok && !g.wasMember(id) {
			if snap, _, err = g.refreshLocked(ctx); err != nil {
				return nil, err
			}
			break
		}
	}

	out := make([]DecreaseOutcome, len(ids))
	var terminate, reclaimed []int
	for n, id := range ids {
		st := classifyForDecrease(snap, id, g.wasMember(id), g.mayTerminateStandby(id))
		inst, _ := snap.Instance(id)
		switch {
		case st == DecreaseRequested && inst.Phase == PhaseRetained:
			if g.retainedAskedRecently(id) {
				st = DecreaseAlreadyTerminating
			}
			// Retained after AWS's own termination (a health replacement
			// held by a hook): terminated again, and like any member AWS
			// took without a decrement, desired capacity lowered for it.
			if byRunner && g.mayLowerFor(id) {
				reclaimed = append(reclaimed, n)
			}
		case st == DecreaseRequested && g.terminationRequested(id):
			st = DecreaseAlreadyTerminating
		case st == DecreaseAlreadyTerminating && byRunner && g.mayLowerFor(id):
			reclaimed = append(reclaimed, n)
		}
		out[n] = DecreaseOutcome{ID: id, Status: st}
		if st == DecreaseRequested {
			terminate = append(terminate, n)
		}
	}

	g.terminateAll(ctx, snap, out, terminate)
	reclaimed = append(reclaimed, g.confirmTerminations(ctx, snap, out, terminate)...)
	g.lowerForReclaimed(ctx, out, reclaimed)
	return out, nil
}

// decrementFor: a retained or standby instance no longer fills desired
// capacity, nor does one the plugin already lowered desired capacity for
// (a spot interruption notice), so terminating it must not lower desired capacity
// (again).
func (g *Group) decrementFor(snap *Snapshot, id string) bool {
	inst, _ := snap.Instance(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	return inst.Phase != PhaseRetained && inst.Phase != PhaseStandby && !g.decremented[id]
}

// terminated records one termination AWS accepted.
func (g *Group) terminated(id string, decrement bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.terminating[id] = g.now()
	if decrement {
		g.decremented[id] = true
		g.expected = max(0, g.expected-1)
		g.pendingSince = g.now()
	} else if retainedIn(g.snap, id) {
		// Asked once per retained episode; a member terminated without a
		// decrement before a hook retained it (desired capacity already
		// lowered for it) starts its episode afterwards.
		g.retainedAsked[id] = g.now()
	}
}

// classifyForDecrease: noticeStandby says the plugin moved id to Standby
// for a spot interruption notice (LowerForNotices), so, unlike an
// operator's standby, it is the plugin's to terminate.
func classifyForDecrease(snap *Snapshot, id string, wasMember, noticeStandby bool) DecreaseStatus {
	inst, ok := snap.Instance(id)
	if !ok {
		if wasMember {
			return DecreaseAlreadyGone
		}
		return DecreaseRefusedForeign
	}
	switch inst.Phase {
	case PhaseTerminating, PhaseTerminated:
		return DecreaseAlreadyTerminating
	case PhaseStandby:
		if noticeStandby {
			return DecreaseRequested
		}
		return DecreaseRefusedOperator
	case PhaseDetaching:
		return DecreaseRefusedOperator
	case PhaseWarmPool:
		return DecreaseRefusedWarmPool
	case PhaseLaunching, PhaseInService, PhaseQuarantined, PhaseRetained, PhaseReplacingRootVolume, PhaseUnknown:
		return DecreaseRequested
	default:
		return DecreaseRequested
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// retainedIn: snap (nil: none yet) shows id in Terminating:Retained.
func retainedIn(snap *Snapshot, id string) bool {
	if snap == nil {
		return false
	}
	inst, ok := snap.Instance(id)
	return ok && inst.Phase == PhaseRetained
}
