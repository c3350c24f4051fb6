package property_test

import (
	"sort"
	"strings"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// settleRounds is how many Updates pass after the events stop (and one
// more after poll_interval); each first moves the simulated clock past
// every notice period, termination, boot and hook timeout, and gives the
// plugin's real-time timers (fallback hold 1 s) a little real time.
const settleRounds = 6

// settle stops the faults and events, then lets updates pass the way the
// runner's loop would: Decrease what it still removes, then Update. The
// last round comes more than poll_interval (real time) after the others:
// Update may answer from a settled snapshot that old (provider/update.go),
// so only then must it show what AWS did during the rounds before.
func (w *world) settle() {
	w.sim.ClearFaults()
	w.endEvents()
	w.note("--- events stop; settling ---")
	for r := 0; r <= settleRounds; r++ {
		if r == settleRounds {
			time.Sleep(pollInterval)
		}
		w.sim.Advance(25 * time.Minute)
		w.decrease(nil)
		_ = w.update()
		time.Sleep(200 * time.Millisecond)
	}
}

// checkSettled asserts the promises that must hold once AWS is quiet.
func (w *world) checkSettled() {
	if err := w.update(); err != nil {
		w.violate("update-fails", "Update fails after the events stopped: %v", err)
		return
	}
	reported := w.runner.reported
	for _, i := range w.members() {
		st, ok := reported[i.ID]
		switch {
		case bills(i) && !ok:
			w.violate("billing-unreported", "%s bills (EC2 %s, %s) but Update does not report it", i.ID, i.State, i.Lifecycle)
		case bills(i) && i.Lifecycle == "Terminating:Retained":
			w.violate("retained-billing", "%s is Terminating:Retained and still running after the events stopped (reported %s)", i.ID, st)
		case bills(i) && st == provider.StateDeleting:
			w.violate("deleting-but-billing", "%s reported deleting, still EC2 %s / %s after the events stopped", i.ID, i.State, i.Lifecycle)
		}
	}
	for id := range w.runner.removed {
		// A retained one is already reported above.
		if i, ok := w.sim.Instance(id); ok && bills(i) && i.Lifecycle != "Terminating:Retained" {
			w.violate("removed-still-billing", "the runner removed %s, still EC2 %s / %s", id, i.State, i.Lifecycle)
		}
	}
	for id := range w.runner.removing {
		if i, ok := w.sim.Instance(id); ok && bills(i) {
			w.violate("decrease-never-confirmed", "Decrease keeps failing for %s (EC2 %s / %s)", id, i.State, i.Lifecycle)
		}
	}
	// A noticed spot instance the runner never removed: AWS reclaimed it,
	// which counts as removed, and the plugin lowers desired capacity for it
	// when it sees the notice while the instance is still in service (not
	// when AWS took it first), so desired may sit that far below.
	noticed := 0
	for id := range w.notices {
		if !w.runner.removed[id] {
			noticed++
		}
	}
	r := w.runner
	if g, _ := w.sim.Group(groupName); g.Desired > r.expectedDesired+r.adopted+r.racy+len(r.acrossRestart) || g.Desired < r.expectedDesired+r.adopted-r.externalCuts-noticed {
		var why []string
		for s := range w.suspects {
			why = append(why, s)
		}
		sort.Strings(why)
		w.violate("desired-drift", "desired capacity %d, the runner asked for minus removed %d (%d replacements it keeps, %d unsure, %d external cuts, %d reclaimed after a notice, %d notices across a restart); suspects: %s",
			g.Desired, r.expectedDesired, r.adopted, r.racy, r.externalCuts, noticed, len(r.acrossRestart), strings.Join(why, "; "))
	}
}

// checkPolicy: after the plugin shut down, the group's instances
// distribution is the configured one (the fallback undone) and no fallback
// tag is left.
func (w *world) checkPolicy() {
	g, _ := w.sim.Group(groupName)
	if pct := g.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity; pct != 0 {
		w.violate("fallback-not-undone", "OnDemandPercentageAboveBaseCapacity %d after Shutdown, configured 0 (tag %q)", pct, g.Tags[ec2spot.FallbackTagKey])
	} else if tag, ok := g.Tags[ec2spot.FallbackTagKey]; ok {
		w.violate("fallback-not-undone", "fallback tag %q left on the group after Shutdown", tag)
	}
}

// classPath maps a violation class onto issue 12's numbered paths (the
// usual cause; the report names the evidence).
func classPath(class string) string {
	switch class {
	case "desired-drift":
		return "path 1, path 5 or the ambiguous Decrease: see its suspects"
	case "increase-over":
		return "path 1"
	case "fallback-not-undone":
		return "path 2"
	case "retained-billing", "deleting-but-billing":
		return "path 3"
	case "connect-after-notice", "heartbeat-after-notice":
		return "path 4"
	}
	return "not one of the five paths"
}

// stillRunningNoticed is a noticed instance EC2 still runs, for the probe
// of the 5 s bound.
func (w *world) stillRunningNoticed() (string, bool) {
	for id := range w.notices {
		if i, ok := w.sim.Instance(id); ok && bills(i) && !strings.HasPrefix(i.Lifecycle, "Terminat") {
			return id, true
		}
	}
	return "", false
}
