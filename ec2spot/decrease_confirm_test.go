package ec2spot

import (
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// AWS starts terminating an instance on its own (no decrement) after the
// plugin's last snapshot, and the runner then Decreases it: the plugin's
// decrementing terminate reaches an instance that is already terminating,
// so AWS lowers nothing for it. The plugin must not count a decrement AWS
// did not make: it lowers desired capacity for that instance instead, so
// the group launches no replacement nobody asked for — whether the
// terminate's answer arrives or is lost. (Property test seeds 721843599 and
// 721843607: desired capacity one above what the runner asked for.)
func TestDecreaseOfInstanceAWSTookSinceTheSnapshot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ids  int // the taken instance first, then live ones
		lost bool
	}{
		{name: "answered", ids: 1},
		{name: "answer lost", ids: 1, lost: true},
		{name: "batch with a live instance", ids: 2},
		{name: "batch with a live instance, answer lost", ids: 2, lost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			g := newTestGroup(t, s, awssim.GroupSpec{Desired: 3, MaxSize: 5}, func(o *GroupOptions) { o.TerminateConcurrency = 1 })
			ids := inService(t, g, 3)
			ctx := testCtx(t)
			suspendLaunch(t, true) // no replacement before the plugin looks
			s.SetSpeed(0.0001)     // the taken instance stays terminating
			// The plugin's snapshot shows all three in service ...
			if _, _, err := g.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			// ... then AWS takes the first one (health check, by hand, spot).
			if err := s.TerminateExternally(ids[0]); err != nil {
				t.Fatal(err)
			}
			if tc.lost {
				s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", DropResponse: true, Count: 3})
			}
			s.ResetCalls()
			out, err := g.Decrease(ctx, ids[:tc.ids])
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if !o.Status.Done() {
					t.Errorf("%s: %v %v, want done", o.ID, o.Status, o.Err)
				}
			}
			want := 3 - tc.ids
			if d := desiredOf(t, s); d != want {
				t.Fatalf("desired = %d, want %d (the runner removed %d of 3; AWS decremented nothing for the instance it was already terminating)", d, want, tc.ids)
			}
			// Repeats (fleeting retries ids it did not get back) change nothing.
			if _, err := g.Decrease(ctx, ids[:tc.ids]); err != nil {
				t.Fatal(err)
			}
			if d := desiredOf(t, s); d != want {
				t.Fatalf("desired = %d after a repeated Decrease, want %d", d, want)
			}
			if _, drift, err := g.Refresh(ctx); err != nil || drift != nil {
				t.Errorf("refresh: drift %+v, %v (a false \"changed outside the plugin\")", drift, err)
			}
			// Launches resume: no replacement for the instance the runner removed.
			suspendLaunch(t, false)
			s.Advance(time.Minute)
			live := 0
			for _, i := range s.Instances() {
				if i.State == "pending" || i.State == "running" {
					live++
				}
			}
			if live != want {
				t.Errorf("%d instances bill, want %d (no replacement nobody asked for)", live, want)
			}
			// Increase builds on the right value.
			res, err := g.Increase(ctx, 1)
			if err != nil || res.From != want {
				t.Errorf("increase from %d, want %d: %v", res.From, want, err)
			}
		})
	}
}

// Desired capacity was lowered outside the plugin down to MinSize while the
// protected members stay: AWS rejects a decrementing terminate of any of
// them. The runner's Decrease must still remove the instance (without a
// decrement: desired capacity does not count it), not fail for ever while
// it bills. (Property test seeds 2004648856, 2004648880.)
func TestDecreaseOfSurplusMemberAtMinSize(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	ids := inService(t, g, 2)
	ctx := testCtx(t)
	// An operator scales in to 0; the members are protected from scale-in.
	if err := s.SetDesiredExternally("runners", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := g.Decrease(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !o.Status.Done() {
			t.Errorf("%s: %v %v, want done", o.ID, o.Status, o.Err)
		}
	}
	for _, id := range ids {
		if got := lifecycleOf(s, id); got != "Terminating/shutting-down" {
			t.Errorf("%s: %s, want terminating", id, got)
		}
	}
	if d := desiredOf(t, s); d != 0 {
		t.Errorf("desired = %d, want 0", d)
	}
	s.Advance(time.Minute)
	for _, i := range s.Instances() {
		if i.State == "pending" || i.State == "running" {
			t.Errorf("%s still bills (%s): replaced or never terminated", i.ID, i.Lifecycle)
		}
	}
}

// The same, when no describe saw the cut before the runner's Decrease (the
// plugin still expects both members): after the runner removed both, its
// next Increase builds on nothing, not on a member it no longer has, or the
// group keeps an instance nobody asked for. (Property test seed 2715826817.)
func TestIncreaseAfterSurplusDecreaseBuildsOnWhatTheRunnerKeeps(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	ids := inService(t, g, 2)
	ctx := testCtx(t)
	if err := s.SetDesiredExternally("runners", 1); err != nil {
		t.Fatal(err)
	}
	out, err := g.Decrease(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !o.Status.Done() {
			t.Fatalf("%s: %v %v, want done", o.ID, o.Status, o.Err)
		}
	}
	res, err := g.Increase(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != 0 || desiredOf(t, s) != 1 {
		t.Errorf("Increase(1) built on %d, desired %d; want 0 and 1", res.From, desiredOf(t, s))
	}
}
