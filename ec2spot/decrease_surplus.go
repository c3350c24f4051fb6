package ec2spot

import "context"

// A group protected from scale-in whose desired capacity was lowered
// outside the plugin (an operator, a scheduled action) keeps more members
// than desired capacity counts: AWS terminates none of them. A decrementing
// terminate of one lowers desired capacity further, and once desired
// capacity is at MinSize AWS rejects it ("Terminating instance without
// replacement will violate group's min size constraint"): the runner's
// Decrease would fail for ever and the instance bill. Desired capacity does
// not count that surplus, so such a member is terminated without a
// decrement: nothing is replaced, and desired capacity goes on counting the
// members the runner keeps. The plugin's own expectation may still count
// the member (the lowering not yet seen by an Update): it drops by one for
// each, never below what AWS shows, or the next Increase would build on a
// member the runner no longer has.

// surplus is how many members fresh shows filling capacity beyond its
// desired capacity, the plugin's own terminations left out.
func (g *Group) surplus(fresh *Snapshot) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	filling := 0
	for _, i := range fresh.Instances {
		if _, ours := g.terminating[i.ID]; i.Phase.CountsTowardDesired() && !ours {
			filling++
		}
	}
	return max(filling-fresh.Desired, 0)
}

// terminateSurplus terminates the live members out[idx], whose decrementing
// terminate AWS rejected, without a decrement while fresh shows a surplus
// (one per member of it); the others' failures stand.
func (g *Group) terminateSurplus(ctx context.Context, fresh *Snapshot, out []DecreaseOutcome, idx []int) {
	left := g.surplus(fresh)
	for _, n := range idx {
		if left == 0 {
			return
		}
		left--
		g.terminateBatch(ctx, fresh, out, terminateBatch{idx: []int{n}, decrement: false})
		if out[n].Status == DecreaseRequested {
			g.surplusRemoved(out[n].ID, fresh.Desired)
		}
	}
}

// surplusRemoved: a surplus member left without a decrement; the plugin's
// expectation stops counting it, down to desired capacity at most, and
// desired capacity never counted it (nothing to lower for it later).
func (g *Group) surplusRemoved(id string, desired int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expected = max(desired, g.expected-1)
	g.decremented[id] = true
}
