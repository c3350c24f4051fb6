package property_test

import (
	"strings"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Out-of-band events: AWS (or an operator) acting on the group on its own.
// What each one should do to the runner's accounting:
//
//   - spot reclaim: a notice (spot request marked-for-termination), then EC2
//     terminates the instance without decrement. The runner sees it
//     deleting from the notice on and replaces it itself, so the plugin
//     moves it to Standby with a decrement once when it sees the notice
//     while the instance is in service (desired capacity one lower, the
//     group no longer counting it); seen only after AWS took it, the group
//     launches a replacement the runner never asked for (fleeting:
//     "unexpected"), which it may remove later like any other. From the
//     notice on, no job may start on it (the 5 s bound).
//   - health replacement: the group terminates an Unhealthy instance
//     without decrement and replaces it: as a reclaim, without a notice.
//   - termination hook held (Terminating:Wait, still billing) and abandoned
//     with retention (Terminating:Retained, out of desired capacity, billing
//     until terminated): whoever started the termination, the plugin must
//     end the retained instance (it reports it deleting, so fleeting never
//     asks again). Desired capacity: as for the termination that was held.
//     A held termination may also be continued (a drain finished): it
//     then terminates as if never held.
//   - external scale-in: desired lowered by one outside the plugin. The
//     instances are protected from scale-in, so nothing terminates and the
//     runner keeps every instance; the plugin adopts the value (a warning),
//     and its next Increase builds on the instances it has (or the cut
//     absorbs a replacement AWS would have launched). So the runner's
//     count stands, and desired capacity may sit below it by at most the
//     cuts, never above it.
//   - terminated by hand (EC2 TerminateInstances): like a health
//     replacement: gone without decrement, replaced.
//   - spot outage: every spot pool empty until the outage ends; launches
//     fail, and the on-demand fallback may switch the group, which must be
//     undone once spot is back or the plugin shuts down.
//
// When the runner Decreases an instance AWS is already taking without
// decrement, the plugin must lower desired capacity once (issue 12, path
// 5): the runner removed it, and a replacement nobody asked for is waste.
// Unless the replacement has already launched: then it stays, desired
// capacity with it, and the runner keeps it as an instance of its own
// (runnerModel.adopted).

// event injects one out-of-band event if it applies to the current world
// (an instance to act on, a hook to abandon, ...); false when it does not.
func (w *world) event(kind string) bool {
	ok := false
	switch kind {
	case "spot-reclaim":
		if i, found := w.pick(func(i awssim.Instance) bool {
			return i.Market == awssim.Spot && bills(i) && w.notices[i.ID].IsZero()
		}); found {
			if err := w.sim.Interrupt(i.ID, "terminate"); err == nil {
				w.notices[i.ID] = nowReal()
				ok = w.eventNote(kind, i.ID)
			}
		}
	case "health-replacement":
		if i, found := w.pick(func(i awssim.Instance) bool { return i.Lifecycle == "InService" && i.Health == "Healthy" }); found {
			ok = w.sim.SetHealth(i.ID, "Unhealthy") == nil && w.eventNote(kind, i.ID)
		}
	case "hook-on":
		if !w.hooked {
			w.hooked = w.sim.SetTerminationHook(groupName, &awssim.TerminationHook{HeartbeatTimeout: time.Hour, RetainOnAbandon: true}) == nil
			ok = w.hooked && w.eventNote(kind, "")
		}
	case "hook-abandon":
		if i, found := w.pick(func(i awssim.Instance) bool { return i.Lifecycle == "Terminating:Wait" }); found {
			ok = w.sim.CompleteTermination(i.ID, "ABANDON") == nil && w.eventNote(kind, i.ID)
		}
	case "hook-continue":
		if i, found := w.pick(func(i awssim.Instance) bool { return i.Lifecycle == "Terminating:Wait" }); found {
			ok = w.sim.CompleteTermination(i.ID, "CONTINUE") == nil && w.eventNote(kind, i.ID)
		}
	case "hook-off":
		if w.hooked {
			w.hooked = w.sim.SetTerminationHook(groupName, nil) != nil
			ok = w.eventNote(kind, "")
		}
	case "external-scale-in":
		if g, _ := w.sim.Group(groupName); g.Desired > 0 && w.sim.SetDesiredExternally(groupName, g.Desired-1) == nil {
			w.runner.externalCuts++
			ok = w.eventNote(kind, "")
		}
	case "terminate-by-hand":
		if i, found := w.pick(func(i awssim.Instance) bool { return bills(i) && !strings.HasPrefix(i.Lifecycle, "Terminat") }); found {
			ok = w.sim.TerminateExternally(i.ID) == nil && w.eventNote(kind, i.ID)
		}
	case "spot-outage":
		if !w.outage {
			w.setSpot(false)
			ok = w.eventNote(kind, "")
		}
	case "spot-recovery":
		if w.outage {
			w.setSpot(true)
			ok = w.eventNote(kind, "")
		}
	}
	return ok
}

func (w *world) eventNote(kind, id string) bool {
	w.stats.events[kind]++
	w.note("EVENT %s %s", kind, id)
	return true
}

// pick is a random group member (EC2 not terminated) that matches.
func (w *world) pick(match func(awssim.Instance) bool) (awssim.Instance, bool) {
	var l []awssim.Instance
	for _, i := range w.members() {
		if match(i) {
			l = append(l, i)
		}
	}
	if len(l) == 0 {
		return awssim.Instance{}, false
	}
	return l[w.rng.IntN(len(l))], true
}

func (w *world) setSpot(available bool) {
	n := 0
	if available {
		n = -1 // unlimited
	}
	for _, typ := range spotTypes {
		w.sim.SetPoolCapacity(typ, "", awssim.Spot, n)
	}
	w.outage = !available
}

// endEvents stops every ongoing event: spot is back, held terminations are
// abandoned (retained) and the hook removed, so that the settle phase shows
// what the plugin does with what AWS left behind.
func (w *world) endEvents() {
	if w.outage {
		w.setSpot(true)
		w.note("EVENT spot-recovery (end of events)")
	}
	for _, i := range w.members() {
		if i.Lifecycle == "Terminating:Wait" {
			if w.sim.CompleteTermination(i.ID, "ABANDON") == nil {
				w.stats.events["hook-abandon"]++
				w.note("EVENT hook-abandon %s (end of events)", i.ID)
			}
		}
	}
	if w.hooked {
		_ = w.sim.SetTerminationHook(groupName, nil)
		w.hooked = false
	}
}
