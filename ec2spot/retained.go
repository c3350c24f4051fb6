package ec2spot

import "context"

// TerminateRetained asks AWS to terminate the snapshot's Terminating:Retained
// members the plugin has not asked about yet. Such an instance was kept
// after an abandoned termination hook: it no longer fills desired capacity,
// fleeting sees it "deleting" and never sends a Decrease for it, so without
// this it would bill until someone noticed. Decrease terminates retained
// members without decrementing desired capacity.
func (g *Group) TerminateRetained(ctx context.Context, snap *Snapshot) ([]DecreaseOutcome, error) {
	var ids []string
	for _, inst := range snap.Instances {
		if inst.Phase == PhaseRetained && !g.terminationRequested(inst.ID) {
			ids = append(ids, inst.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return g.Decrease(ctx, ids)
}
