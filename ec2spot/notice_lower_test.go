package ec2spot

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Desired capacity and spot interruption notices: the runner replaces an
// instance it sees deleting; that replacement must launch at once, and the
// group must not replace the instance a second time when AWS takes it
// (notice_lower.go).

// noticeGroup is a protected all-spot group "runners" with n members in
// service, its Group and Spot over a recording client, and the simulator
// frozen (time moves only by Advance) so a noticed instance stays in
// service while the plugin looks.
//
//nolint:gocritic // tooManyResultsChecker: a fixture handing back every part the tests inspect
func noticeGroup(t *testing.T, spec awssim.GroupSpec) (*awssim.Sim, *Group, *Spot, *recordingASG, *syncBuffer, []string) {
	t.Helper()
	s := fastSim(t, awssim.Options{})
	spec.Name = "runners"
	if spec.MaxSize == 0 {
		spec.MaxSize = 8
	}
	rec := &recordingASG{}
	g := newTestGroup(t, s, spec, func(o *GroupOptions) {
		rec.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = rec
	})
	sp, logs := newNoticeSpot(t, g)
	ids := inService(t, g, spec.Desired)
	observe(t, g, sp) // learns the markets
	s.SetSpeed(0.0001)
	return s, g, sp, rec, logs, ids
}

func newNoticeSpot(t *testing.T, g *Group) (*Spot, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	sp := spotFor(g, SpotOptions{Log: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})})
	if err := sp.Init(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return sp, logs
}

// launched counts the instances the simulator ever launched (terminated
// ones stay visible).
func launched(s *awssim.Sim) int { return len(s.Instances()) }

func liveMembers(s *awssim.Sim) int {
	n := 0
	for _, i := range s.Instances() {
		if i.State == "pending" || i.State == "running" {
			n++
		}
	}
	return n
}

// The whole life of a notice: the member goes to Standby once when the
// notice is first seen (desired capacity one lower; not again by later
// updates, nor by a restarted plugin), the runner's replacement launches at
// once, while the doomed instance still runs, AWS's reclaim launches
// nothing, and the runner's Decrease of the reclaimed id lowers nothing
// more.
func TestNoticeMovesTheMemberToStandbyAndItsReplacementLaunchesAtOnce(t *testing.T) {
	s, g, sp, _, logs, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	s.ResetCalls()
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		observe(t, g, sp)
	}
	if v := sp.Verdict(ids[0]); !v.Deleting {
		t.Fatalf("noticed instance not reported deleting: %+v", v)
	}
	if got := lifecycleOf(s, ids[0]); got != "Standby/running" {
		t.Fatalf("noticed instance %s, want Standby/running (its job goes on)", got)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after the notice, want 2", d)
	}
	if n := s.CallCount("autoscaling", "EnterStandby"); n != 1 {
		t.Errorf("EnterStandby calls = %d, want 1", n)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
		t.Errorf("SetDesiredCapacity calls = %d, want 0", n)
	}
	if !strings.Contains(logs.String(), "moved spot instances under an interruption notice to standby") {
		t.Errorf("the move is not logged:\n%s", logs)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v after the plugin's own change", drift)
	}

	// A restarted plugin sees the member in Standby: nothing to do.
	g2 := NewGroup(GroupOptions{Name: "runners", Region: g.region, Clients: g.clients})
	sp2, _ := newNoticeSpot(t, g2)
	for range 2 {
		observe(t, g2, sp2)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after a restart, want 2 (not lowered twice)", d)
	}
	if n := s.CallCount("autoscaling", "EnterStandby") + s.CallCount("autoscaling", "SetDesiredCapacity"); n != 1 {
		t.Errorf("%d scaling calls after a restart, want still 1", n)
	}

	// The runner asks for the replacement: it launches now, not when AWS
	// takes the doomed instance.
	before := launched(s)
	res, err := g2.Increase(ctx, 1)
	if err != nil || res.From != 2 || desiredOf(t, s) != 3 {
		t.Fatalf("increase: %+v, %v, desired %d; want from 2 to 3", res, err, desiredOf(t, s))
	}
	s.Advance(5 * time.Second)
	if n := launched(s) - before; n != 1 {
		t.Errorf("%d instances launched within 5 s of the runner's request, want 1 (the notice gives two minutes to boot it)", n)
	}
	if got := lifecycleOf(s, ids[0]); got != "Standby/running" {
		t.Errorf("noticed instance %s while its replacement launches, want Standby/running", got)
	}
	s.Advance(3 * time.Minute) // the notice period ends: AWS takes the instance
	if got := lifecycleOf(s, ids[0]); !strings.HasSuffix(got, "terminated") && !strings.HasSuffix(got, "shutting-down") {
		t.Fatalf("noticed instance after the notice period: %s", got)
	}
	observe(t, g2, sp2)
	s.Advance(time.Minute)
	if n := launched(s) - before; n != 1 {
		t.Errorf("%d instances launched after the notice, want 1 (the runner's replacement only)", n)
	}
	if n := liveMembers(s); n != 3 {
		t.Errorf("%d live instances, want 3", n)
	}

	// The runner removes the reclaimed id: nothing more to lower.
	observe(t, g2, sp2)
	calls := s.CallCount("autoscaling", "SetDesiredCapacity")
	out, err := g2.Decrease(ctx, ids[:1])
	if err != nil || len(out) != 1 || !out[0].Status.Done() || out[0].Status == DecreaseLoweredDesired {
		t.Fatalf("decrease of the reclaimed id: %+v, %v", out, err)
	}
	if d := desiredOf(t, s); d != 3 {
		t.Errorf("desired = %d after the Decrease of the reclaimed id, want 3", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity") - calls; n != 0 {
		t.Errorf("%d SetDesiredCapacity calls for the reclaimed id, want 0", n)
	}
	if _, drift, _ := g2.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v", drift)
	}
}

// The runner removes a noticed instance before AWS takes it (here a
// restarted plugin, which finds it in Standby): desired capacity already
// leaves it out, so it is terminated without a decrement, and the group
// replaces nothing.
func TestDecreaseOfNoticedInstanceTerminatesWithoutDecrement(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp)
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after the notice, want 2", d)
	}
	rec := &recordingASG{AutoScalingAPI: g.clients.AutoScaling}
	clients := g.clients
	clients.AutoScaling = rec
	g2 := NewGroup(GroupOptions{Name: "runners", Region: g.region, Clients: clients})
	sp2, _ := newNoticeSpot(t, g2)
	observe(t, g2, sp2)
	before := launched(s)
	for range 2 {
		out, err := g2.Decrease(ctx, ids[:1])
		if err != nil || len(out) != 1 || !out[0].Status.Done() {
			t.Fatalf("decrease: %+v, %v", out, err)
		}
	}
	rec.mu.Lock()
	dec, sent := rec.decrement[ids[0]]
	rec.mu.Unlock()
	if !sent || dec {
		t.Errorf("terminate sent %v with decrement %v, want sent without decrement", sent, dec)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d after the Decrease, want 2 (lowered once, at the notice)", d)
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 1 {
		t.Errorf("terminate calls = %d, want 1", n)
	}
	s.Advance(3 * time.Minute)
	if n := launched(s) - before; n != 0 {
		t.Errorf("%d instances launched, want 0", n)
	}
	if n := liveMembers(s); n != 2 {
		t.Errorf("%d live instances, want 2", n)
	}
	if _, drift, _ := g2.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v", drift)
	}
}

// A plugin that starts with a notice already there on a member still in
// service moves nothing: an earlier version of the plugin may have
// lowered desired capacity for it, and doing so again would cancel a
// launch the runner asked for. Its Decrease of the noticed instance goes
// without a decrement.
func TestNoticeFromBeforeTheProcessIsAssumedLoweredFor(t *testing.T) {
	s, g, _, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	rec := &recordingASG{AutoScalingAPI: g.clients.AutoScaling}
	clients := g.clients
	clients.AutoScaling = rec
	g2 := NewGroup(GroupOptions{Name: "runners", Region: g.region, Clients: clients})
	sp2, logs := newNoticeSpot(t, g2)
	s.ResetCalls()
	for range 2 {
		observe(t, g2, sp2)
	}
	if d := desiredOf(t, s); d != 3 {
		t.Fatalf("desired = %d, want 3 (left alone)", d)
	}
	if n := s.CallCount("autoscaling", "EnterStandby") + s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
		t.Errorf("%d scaling calls, want 0", n)
	}
	if !strings.Contains(logs.String(), "assuming the previous process lowered desired capacity") {
		t.Errorf("assumption not logged:\n%s", logs)
	}
	if out, err := g2.Decrease(ctx, ids[:1]); err != nil || out[0].Status != DecreaseRequested {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	rec.mu.Lock()
	dec := rec.decrement[ids[0]]
	rec.mu.Unlock()
	if dec || desiredOf(t, s) != 3 {
		t.Errorf("terminate with decrement %v, desired %d; want without, 3", dec, desiredOf(t, s))
	}
}

// Notices seen in one Update move their members with one call.
func TestNoticesOfOneUpdateAreMovedTogether(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 4})
	s.ResetCalls()
	for _, id := range ids[:2] {
		if err := s.Interrupt(id, "terminate"); err != nil {
			t.Fatal(err)
		}
	}
	observe(t, g, sp)
	observe(t, g, sp)
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d, want 2", d)
	}
	if n := s.CallCount("autoscaling", "EnterStandby"); n != 1 {
		t.Errorf("EnterStandby calls = %d, want 1", n)
	}
}

// The move takes effect but its answer is lost (and the SDK's retries,
// finding the member in Standby already, change nothing): confirmed by
// describing, desired capacity lowered once, no drift, and the runner's
// replacement builds on the lowered value.
func TestNoticeStandbyLostReplyIsConfirmed(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "EnterStandby", DropResponse: true, Count: 3})
	s.ResetCalls()
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		observe(t, g, sp)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d, want 2", d)
	}
	if n := s.CallCount("autoscaling", "EnterStandby"); n > 3 {
		t.Errorf("EnterStandby calls = %d, want one call (with the SDK's attempts)", n)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("false drift %+v", drift)
	}
	s.ClearFaults()
	if res, err := g.Increase(ctx, 1); err != nil || res.From != 2 {
		t.Errorf("increase from %d, %v; want from 2", res.From, err)
	}
}

// Standby needs no scale-in protection: desired capacity and the count
// drop together, so the group picks no victim, busy or not.
func TestNoticeStandbyOnAnUnprotectedGroupScalesNothingIn(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3, Unprotected: true})
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		observe(t, g, sp)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d, want 2", d)
	}
	s.Advance(30 * time.Second) // the group reconciles; AWS has not taken the instance yet
	for _, id := range ids {
		if got := lifecycleOf(s, id); !strings.HasSuffix(got, "/running") {
			t.Errorf("%s is %s, want every instance still running (no scale-in)", id, got)
		}
	}
}

// A notice on a member still launching: only a member in service can go
// to Standby, so it is moved once in service, and its replacement launches
// then.
func TestNoticeOnALaunchingMemberMovesItOnceInService(t *testing.T) {
	s, g, sp, _, _, _ := noticeGroup(t, awssim.GroupSpec{Desired: 2})
	ctx := testCtx(t)
	if _, err := g.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Advance(2 * time.Second)
	var fresh string
	for _, inst := range observe(t, g, sp).Instances {
		if inst.Phase == PhaseLaunching {
			fresh = inst.ID
		}
	}
	if fresh == "" {
		t.Fatal("no launching member")
	}
	s.ResetCalls()
	if err := s.Interrupt(fresh, "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp)
	observe(t, g, sp)
	if n := s.CallCount("autoscaling", "EnterStandby"); n != 0 {
		t.Fatalf("EnterStandby calls = %d while the member launches, want 0", n)
	}
	for range 60 {
		if inst, ok := observe(t, g, sp).Instance(fresh); ok && inst.Phase != PhaseLaunching {
			break
		}
		s.Advance(time.Second)
	}
	observe(t, g, sp)
	if got := lifecycleOf(s, fresh); got != "Standby/running" {
		t.Errorf("noticed member %s once in service, want Standby/running", got)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d, want 2", d)
	}
}

// Where the move cannot be made (desired capacity at MinSize, or an IAM
// policy from before EnterStandby was used), the member stays in service
// and counted: the runner's replacement launches at once and AWS's reclaim
// adds a spare, as without the plugin. The reason is logged once, and the
// call is not repeated at every Update.
func TestNoticeStandbyRefusedLeavesDesiredAlone(t *testing.T) {
	for _, c := range []struct {
		name, why string
		spec      awssim.GroupSpec
		fault     *awssim.Fault
		wantCalls int
	}{
		{"at MinSize", "MinSize", awssim.GroupSpec{Desired: 3, MinSize: 3}, nil, 0},
		{"access denied", "grant this action", awssim.GroupSpec{Desired: 3},
			&awssim.Fault{Service: "autoscaling", Action: "EnterStandby", Code: "AccessDenied", Status: 403, Message: "not allowed"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, g, sp, _, logs, ids := noticeGroup(t, c.spec)
			if c.fault != nil {
				s.InjectFault(*c.fault)
			}
			s.ResetCalls()
			if err := s.Interrupt(ids[0], "terminate"); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				observe(t, g, sp)
			}
			if d := desiredOf(t, s); d != 3 {
				t.Errorf("desired = %d, want 3 (left alone)", d)
			}
			if n := s.CallCount("autoscaling", "EnterStandby"); n != c.wantCalls {
				t.Errorf("EnterStandby calls = %d, want %d", n, c.wantCalls)
			}
			if n := strings.Count(logs.String(), "]  not moving spot instances under an interruption notice to standby") +
				strings.Count(logs.String(), "] not moving spot instances under an interruption notice to standby"); n != 1 {
				t.Errorf("refusal logged %d times, want once:\n%s", n, logs)
			}
			if !strings.Contains(logs.String(), c.why) {
				t.Errorf("the log does not say why (%q):\n%s", c.why, logs)
			}
			if v := sp.Verdict(ids[0]); !v.Deleting {
				t.Errorf("noticed instance not reported deleting: %+v", v)
			}
		})
	}
}

// A rebalance recommendation lowers nothing: AWS has not decided to take
// the instance.
func TestRebalanceRecommendationDoesNotLowerDesired(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	s.ResetCalls()
	sp.record(ids[0], Signal{Kind: SignalRebalance, Source: SourceQueue})
	for range 2 {
		observe(t, g, sp)
	}
	if d := desiredOf(t, s); d != 3 {
		t.Errorf("desired = %d, want 3", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity") + s.CallCount("autoscaling", "EnterStandby"); n != 0 {
		t.Errorf("%d scaling calls, want 0", n)
	}
	// The runner removes the drained instance itself, with a decrement.
	if out, err := g.Decrease(testCtx(t), ids[:1]); err != nil || out[0].Status != DecreaseRequested {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d after the Decrease, want 2", d)
	}
}
