package ec2spot

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Desired capacity and spot interruption notices: the runner replaces an
// instance it sees deleting, so the group must not replace it a second
// time when AWS takes it (notice_lower.go).

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

// The whole life of a notice: desired capacity is lowered once when it is
// first seen (not again by later updates, nor by a restarted plugin), the
// runner's replacement launches exactly one instance, AWS's reclaim
// launches none, and the runner's Decrease of the reclaimed id lowers
// nothing more.
func TestNoticeLowersDesiredOnceAndTheGroupLaunchesNoSecondReplacement(t *testing.T) {
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
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after the notice, want 2 (lowered for the doomed instance)", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 1 {
		t.Errorf("SetDesiredCapacity calls = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "lowered desired capacity for spot instances under an interruption notice") {
		t.Errorf("lowering not logged:\n%s", logs)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v after the plugin's own change", drift)
	}

	// A restarted plugin sees the same notice: desired capacity already
	// leaves the instance out.
	g2 := NewGroup(GroupOptions{Name: "runners", Region: g.region, Clients: g.clients})
	sp2, _ := newNoticeSpot(t, g2)
	for range 2 {
		observe(t, g2, sp2)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after a restart, want 2 (not lowered twice)", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 1 {
		t.Errorf("SetDesiredCapacity calls = %d after a restart, want 1", n)
	}

	// The runner asks for the replacement.
	before := launched(s)
	res, err := g2.Increase(ctx, 1)
	if err != nil || res.From != 2 || desiredOf(t, s) != 3 {
		t.Fatalf("increase: %+v, %v, desired %d; want from 2 to 3", res, err, desiredOf(t, s))
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

// The runner removes a noticed instance while it is still in service:
// desired capacity already leaves it out, so it is terminated without a
// decrement, and the group replaces nothing.
func TestDecreaseOfNoticedInstanceTerminatesWithoutDecrement(t *testing.T) {
	s, g, sp, rec, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp)
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d after the notice, want 2", d)
	}
	before := launched(s)
	for range 2 {
		out, err := g.Decrease(ctx, ids[:1])
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
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v", drift)
	}
}

// A plugin restarted while the runner's replacement cannot launch yet
// (desired capacity above the members, as before a lowering) lowers
// nothing: the notice predates it, so it assumes the previous process
// lowered for it, and the runner's launch stands. Its Decrease of the
// noticed instance goes without a decrement.
func TestRestartWithALaunchOutstandingDoesNotLowerAgain(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp)
	suspendLaunch(t, true)
	if res, err := g.Increase(ctx, 1); err != nil || desiredOf(t, s) != 3 {
		t.Fatalf("increase: %+v, %v, desired %d", res, err, desiredOf(t, s))
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
		t.Fatalf("desired = %d after a restart, want 3 (the runner's launch stands)", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
		t.Errorf("SetDesiredCapacity calls = %d after a restart, want 0", n)
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

// Notices seen in one Update are lowered for with one call.
func TestNoticesOfOneUpdateAreLoweredTogether(t *testing.T) {
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
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 1 {
		t.Errorf("SetDesiredCapacity calls = %d, want 1", n)
	}
}

// The lowering takes effect but its answer is lost: confirmed by
// describing, never sent again, no drift, and the runner's replacement
// builds on the lowered value.
func TestNoticeLoweringLostReplyIsConfirmed(t *testing.T) {
	s, g, sp, _, _, ids := noticeGroup(t, awssim.GroupSpec{Desired: 3})
	ctx := testCtx(t)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", DropResponse: true, Count: 3})
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
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n > 3 {
		t.Errorf("SetDesiredCapacity calls = %d, want one call (with the SDK's attempts)", n)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("false drift %+v", drift)
	}
	s.ClearFaults()
	if res, err := g.Increase(ctx, 1); err != nil || res.From != 2 {
		t.Errorf("increase from %d, %v; want from 2", res.From, err)
	}
}

// Where scale-in protection cannot stop the group from picking another
// (busy) victim, desired capacity is left alone, and the plugin says why,
// once.
func TestNoticeWithoutScaleInProtectionIsNotLowered(t *testing.T) {
	for _, c := range []struct {
		name string
		spec awssim.GroupSpec
		mod  func(t *testing.T, ids []string)
	}{
		{"group unprotected", awssim.GroupSpec{Desired: 3, Unprotected: true}, nil},
		{"one member unprotected", awssim.GroupSpec{Desired: 3}, func(t *testing.T, ids []string) {
			_, err := operator(t).SetInstanceProtection(testCtx(t), &autoscaling.SetInstanceProtectionInput{
				AutoScalingGroupName: aws.String("runners"), InstanceIds: ids[2:], ProtectedFromScaleIn: aws.Bool(false),
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, g, sp, _, logs, ids := noticeGroup(t, c.spec)
			if c.mod != nil {
				c.mod(t, ids)
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
			if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
				t.Errorf("SetDesiredCapacity calls = %d, want 0", n)
			}
			if n := strings.Count(logs.String(), "[WARN]  not lowering desired capacity for spot instances under an interruption notice"); n != 1 {
				t.Errorf("skip logged %d times as a warning, want once:\n%s", n, logs)
			}
			if !strings.Contains(logs.String(), "protected from scale in") {
				t.Errorf("the log does not say why:\n%s", logs)
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
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
		t.Errorf("SetDesiredCapacity calls = %d, want 0", n)
	}
	// The runner removes the drained instance itself, with a decrement.
	if out, err := g.Decrease(testCtx(t), ids[:1]); err != nil || out[0].Status != DecreaseRequested {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d after the Decrease, want 2", d)
	}
}
