package ec2spot

import (
	"context"
	"time"
)

// retainedRetryAfter: a retained instance the plugin asked to terminate and
// that a later describe still shows retained is asked again after this
// long, in case the request was lost; never on every Update.
const retainedRetryAfter = 10 * time.Minute

// TerminateRetained asks AWS to terminate the snapshot's Terminating:Retained
// members, once per retained episode. Such an instance was kept after an
// abandoned termination hook, also when the plugin itself had asked to
// terminate it: it no longer fills desired capacity, fleeting sees it
// "deleting" and never sends a Decrease for it, so without this it would
// bill until someone noticed. Decrease terminates retained members without
// decrementing desired capacity.
func (g *Group) TerminateRetained(ctx context.Context, snap *Snapshot) ([]DecreaseOutcome, error) {
	var ids []string
	for _, inst := range snap.Instances {
		if inst.Phase == PhaseRetained && !g.retainedAskedRecently(inst.ID) {
			ids = append(ids, inst.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return g.decrease(ctx, ids, false)
}

// retainedAskedRecently reports whether the plugin asked to terminate the
// retained instance id in its current retained episode, recently.
func (g *Group) retainedAskedRecently(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.retainedAsked[id]
	return ok && g.now().Sub(at) < retainedRetryAfter
}
