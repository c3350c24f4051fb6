package provider

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Update reports every member of the group from one DescribeAutoScalingGroups
// (and, beside it, a spot request poll when one is due: at most every
// poll_interval). While a spot instance under notice is still in service
// and nothing else in the group moves, it answers from a snapshot up to
// poll_interval old without a call: the instance is reported deleting, so
// fleeting polls every 2 s, for up to AWS's two minutes.
// On failure it returns the error and reports nothing: fleeting then keeps
// its view instead of timing instances out.
func (g *InstanceGroup) Update(ctx context.Context, fn func(id string, state provider.State)) error {
	fleet, log, err := g.ready()
	if err != nil {
		return err
	}
	res, err := fleet.Update(ctx, func(r ec2spot.Refreshed) {
		if d := r.Drift; d != nil {
			log.Warn("desired capacity changed outside the plugin (scaling policy, scheduled action, console or another runner?); adopting the group's value",
				"expected_desired_capacity", d.Expected, "observed_desired_capacity", d.Observed)
		}
		if r.NotReadyErr != nil {
			log.Error("checking the status checks of new instances failed; they stay creating until the next update", "error", r.NotReadyErr)
		}
		logImpaired(log, r.Impaired)
		seen := g.metrics.Seen(len(r.Snapshot.Instances))
		for _, inst := range r.Snapshot.Instances {
			state, ok := provider.StateRunning, true // spotState makes it deleting
			if !fleet.StandingByForNotice(inst) {
				state, ok = stateFor(log, inst)
			}
			if ok {
				state = spotState(fleet, inst.ID, gated(r.NotReady, inst.ID, state))
				fn(inst.ID, state)
			}
			seen = observeInstance(seen, fleet, inst, state, ok)
		}
		g.metrics.Update(seen)
	})
	if err != nil {
		return err
	}
	// Reported deleting, so something must really remove them.
	if res.RetainedErr != nil {
		log.Error("terminating retained instances failed; retried at the next update", "error", res.RetainedErr)
	}
	for _, o := range res.Retained {
		if o.Status.Done() {
			log.Warn("terminating an instance the group retained after an abandoned termination lifecycle hook", "instance", o.ID, "outcome", o.Status.String())
		} else {
			log.Error("terminating a retained instance failed; retried at the next update", "instance", o.ID, "outcome", o.Status.String(), "error", o.Err)
		}
	}
	return nil
}

// stateFor maps a member onto the fleeting state to report; ok is false
// for members deliberately left out. It never yields deleted or timeout:
// fleeting forgets such instances without removing them, and every member
// of the group still bills.
func stateFor(log hclog.Logger, inst ec2spot.Instance) (provider.State, bool) {
	// Built only to log: the common phases log nothing, and an Update of a
	// large group must not allocate per member.
	kv := func() []any { return []any{"instance", inst.ID, "lifecycle_state", string(inst.LifecycleState)} }
	switch inst.Phase {
	case ec2spot.PhaseLaunching, ec2spot.PhaseQuarantined, ec2spot.PhaseReplacingRootVolume:
		return provider.StateCreating, true
	case ec2spot.PhaseInService:
		return provider.StateRunning, true
	case ec2spot.PhaseTerminating, ec2spot.PhaseTerminated:
		return provider.StateDeleting, true
	case ec2spot.PhaseRetained:
		log.Warn("instance retained after an abandoned termination lifecycle hook; the plugin terminates it (it bills until then)", kv()...)
		return provider.StateDeleting, true
	case ec2spot.PhaseStandby:
		log.Warn("instance is in standby (taken out of service outside the plugin); not reported, the runner will stop using it", kv()...)
		return "", false
	case ec2spot.PhaseDetaching:
		log.Warn("instance is detaching or detached from the group (taken over outside the plugin); not reported, the runner will stop using it", kv()...)
		return "", false
	case ec2spot.PhaseWarmPool:
		log.Debug("warm-pool instance; not reported", kv()...)
		return "", false
	case ec2spot.PhaseUnknown:
		// Still a billing member: creating keeps it counted and removable
		// and never hands it out.
		log.Error("unknown lifecycle state; reporting the instance as creating", kv()...)
		return provider.StateCreating, true
	default:
		log.Error("unmapped lifecycle phase; reporting the instance as creating", kv()...)
		return provider.StateCreating, true
	}
}
