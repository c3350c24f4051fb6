package ec2spot

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Decrease against what AWS does on its own and against endpoints and
// failures that are not the happy path.

func desiredOf(t *testing.T, s *awssim.Sim) int {
	t.Helper()
	gr, _ := s.Group("runners")
	return gr.Desired
}

func lifecycleOf(s *awssim.Sim, id string) string {
	inst, _ := s.Instance(id)
	return inst.Lifecycle + "/" + inst.State
}

// The plugin's own terminate is held by a termination hook, abandoned and
// retained: the instance must be terminated again (once, without a second
// decrement), or it bills forever.
func TestRetainedAfterOwnTerminateIsTerminatedAgain(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	ids := inService(t, g, 2)
	ctx := testCtx(t)
	if err := s.SetTerminationHook("runners", &awssim.TerminationHook{RetainOnAbandon: true}); err != nil {
		t.Fatal(err)
	}
	out, err := g.Decrease(ctx, ids[:1])
	if err != nil || out[0].Status != DecreaseRequested {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	if err := s.CompleteTermination(ids[0], "ABANDON"); err != nil {
		t.Fatal(err)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating:Retained/running" {
		t.Fatalf("after abandon: %s", got)
	}
	snap, drift, err := g.Refresh(ctx)
	if err != nil || drift != nil {
		t.Fatalf("refresh: drift %+v, %v", drift, err)
	}

	s.ResetCalls()
	out, err = g.TerminateRetained(ctx, snap)
	if err != nil || len(out) != 1 || out[0].Status != DecreaseRequested {
		t.Fatalf("retained after the plugin's own terminate was not terminated again: %+v, %v", out, err)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating/shutting-down" {
		t.Errorf("after the second terminate: %s", got)
	}
	if d := desiredOf(t, s); d != 1 {
		t.Errorf("desired = %d, want 1 (decremented once, by the first terminate)", d)
	}
	// A snapshot still showing it retained (taken before the call) asks
	// nothing more: once per retained episode.
	for range 3 {
		if out, _ := g.TerminateRetained(ctx, snap); len(out) != 0 {
			t.Errorf("terminated again from a stale snapshot: %+v", out)
		}
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 1 {
		t.Errorf("terminate calls = %d, want 1", n)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("false drift %+v", drift)
	}
}

// The runner Decreases an instance AWS is already reclaiming (no
// decrement): desired capacity is lowered once, so the group launches no
// replacement nobody asked for; repeats change nothing.
func TestDecreaseOfReclaimedInstanceLowersDesiredOnce(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Second})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 3, MaxSize: 5})
	ids := inService(t, g, 3)
	ctx := testCtx(t)
	// No replacement can launch yet (as in a spot capacity shortage).
	suspendLaunch(t, true)
	// Simulated time moves only by Advance: the reclaimed instance stays
	// terminating while the plugin looks.
	s.SetSpeed(0.0001)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	s.Advance(1500 * time.Millisecond)
	if got := lifecycleOf(s, ids[0]); got != "Terminating/shutting-down" {
		t.Fatalf("after the notice period: %s", got)
	}
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	for try := range 3 {
		out, err := g.Decrease(ctx, ids[:1])
		if err != nil || len(out) != 1 || !out[0].Status.Done() {
			t.Fatalf("decrease of a reclaimed instance: %+v, %v", out, err)
		}
		if want := map[bool]DecreaseStatus{true: DecreaseLoweredDesired, false: DecreaseAlreadyTerminating}[try == 0]; out[0].Status != want {
			t.Errorf("try %d: %v, want %v", try, out[0].Status, want)
		}
	}
	if d := desiredOf(t, s); d != 2 {
		t.Fatalf("desired = %d, want 2 (lowered once for the reclaimed instance)", d)
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 1 {
		t.Errorf("SetDesiredCapacity calls = %d, want 1", n)
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 0 {
		t.Errorf("terminate calls = %d, want 0", n)
	}
	suspendLaunch(t, false)
	s.Advance(time.Minute)
	if n := len(s.Instances()); n != 3 {
		t.Errorf("%d instances exist, want the 3 first ones (no replacement)", n)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("drift %+v after the plugin's own change", drift)
	}

	// Once the group has replaced a reclaimed instance, desired capacity
	// stays: the replacement fills it and reaches the runner as a new
	// instance.
	if err := s.TerminateExternally(ids[1]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replacement", func() bool { return len(s.Instances()) == 4 })
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := g.Decrease(ctx, ids[1:2])
	if err != nil || !out[0].Status.Done() {
		t.Fatalf("decrease after the replacement: %+v, %v", out, err)
	}
	if d := desiredOf(t, s); d != 2 {
		t.Errorf("desired = %d, want 2 (the replacement fills it)", d)
	}
}

// The SetDesiredCapacity that lowers desired capacity for a reclaimed
// instance takes effect but its answer is lost: confirmed by describing,
// never sent twice, no drift.
func TestDecreaseOfReclaimedInstanceLostReply(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 3, MaxSize: 5})
	ids := inService(t, g, 3)
	ctx := testCtx(t)
	suspendLaunch(t, true)
	s.SetSpeed(0.0001) // it stays terminating while the plugin looks
	if err := s.TerminateExternally(ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", DropResponse: true, Count: 3})
	s.ResetCalls()
	for range 2 {
		out, err := g.Decrease(ctx, ids[:1])
		if err != nil || !out[0].Status.Done() {
			t.Fatalf("decrease: %+v, %v", out, err)
		}
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
}

func suspendLaunch(t *testing.T, suspend bool) {
	t.Helper()
	in := []string{"Launch"}
	var err error
	if suspend {
		_, err = operator(t).SuspendProcesses(testCtx(t), &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("runners"), ScalingProcesses: in})
	} else {
		_, err = operator(t).ResumeProcesses(testCtx(t), &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String("runners"), ScalingProcesses: in})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// An endpoint without the batch form of TerminateInstanceInAutoScalingGroup
// (ValidationError or a 5xx) is detected once; Decrease then uses the
// single form for members only.
func TestDecreaseWithAndWithoutTheBatchForm(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"", awssim.TerminateBatchValidationError, awssim.TerminateBatchServerError} {
		t.Run("batch="+mode, func(t *testing.T) {
			s := fastSim(t, awssim.Options{TerminateBatch: mode})
			rec := &recordingASG{}
			g := newTestGroup(t, s, awssim.GroupSpec{Desired: 14, MaxSize: 20}, func(o *GroupOptions) {
				rec.AutoScalingAPI = o.Clients.AutoScaling
				o.Clients.AutoScaling = rec
			})
			ids := inService(t, g, 14)
			ctx := testCtx(t)
			s.ResetCalls()
			// First Decrease: 3 members and a stranger.
			out, err := g.Decrease(ctx, append([]string{"i-0123456789abcdef0"}, ids[:3]...))
			if err != nil {
				t.Fatal(err)
			}
			st := statuses(out)
			for _, id := range ids[:3] {
				if st[id] != DecreaseRequested {
					t.Errorf("%s: %v", id, st[id])
				}
			}
			if st["i-0123456789abcdef0"] != DecreaseRefusedForeign || rec.has("i-0123456789abcdef0") {
				t.Errorf("stranger: %v, sent: %v", st["i-0123456789abcdef0"], rec.has("i-0123456789abcdef0"))
			}
			first := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup")
			// A large Decrease later: batched when the form exists.
			out, err = g.Decrease(ctx, ids[3:])
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Status != DecreaseRequested {
					t.Errorf("%s: %v %v", o.ID, o.Status, o.Err)
				}
			}
			if d := desiredOf(t, s); d != 0 {
				t.Errorf("desired = %d, want 0", d)
			}
			second := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup") - first
			switch mode {
			case "":
				if first != 3 || second != 6 {
					t.Errorf("terminate calls %d then %d, want 3 then 6 (11 ids in batches of 2)", first, second)
				}
			case awssim.TerminateBatchServerError:
				// The SDK retries the 5xx before the single form is tried.
				if first != 3+1+2 || second != 11 {
					t.Errorf("terminate calls %d then %d, want 6 (one rejected batch retried by the SDK, then single) then 11", first, second)
				}
			default:
				if first != 1+3 || second != 11 {
					t.Errorf("terminate calls %d then %d, want 4 (one rejected batch, then single) then 11", first, second)
				}
			}
			if _, drift, _ := g.Refresh(ctx); drift != nil {
				t.Errorf("drift %+v", drift)
			}
		})
	}
}

func (r *recordingASG) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.decrement[id]
	return ok
}

// While AWS answers 5xx to every call, a Decrease spends a bounded number
// of calls and reports every id as failed (err == nil: fleeting asks
// again); nothing is counted as removed.
func TestDecreaseWhileAWSFails(t *testing.T) {
	t.Parallel()
	for _, known := range []bool{false, true} {
		t.Run(map[bool]string{false: "form unknown", true: "form known"}[known], func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			g := newTestGroup(t, s, awssim.GroupSpec{Desired: 6, MaxSize: 10})
			ids := inService(t, g, 6)
			ctx := testCtx(t)
			if known {
				if _, err := g.Decrease(ctx, ids[5:]); err != nil {
					t.Fatal(err)
				}
			}
			before := desiredOf(t, s)
			s.InjectFault(awssim.Fault{Service: "autoscaling", Code: "InternalFailure"})
			s.ResetCalls()
			out, err := g.Decrease(ctx, ids[:5])
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Status != DecreaseFailed || o.Err == nil {
					t.Errorf("%s: %v %v, want a failure", o.ID, o.Status, o.Err)
				}
			}
			calls := 0
			for _, n := range s.Calls() {
				calls += n
			}
			// SDK attempts per call: 3. Unknown form: the first call, the
			// single-form probe and one describe; the rest are not sent.
			// Known: one call per id (5 ids go one per call) and one describe.
			budget := map[bool]int{false: 3 * 3, true: (5 + 1) * 3}[known]
			t.Logf("%d calls while AWS fails: %v", calls, s.Calls())
			if calls > budget {
				t.Errorf("%d calls (%v), want at most %d", calls, s.Calls(), budget)
			}
			s.ClearFaults()
			if d := desiredOf(t, s); d != before {
				t.Errorf("desired = %d, want %d", d, before)
			}
			if _, drift, _ := g.Refresh(ctx); drift != nil {
				t.Errorf("drift %+v", drift)
			}
		})
	}
}

// A terminate that takes effect but whose answer is lost is confirmed by
// describing: reported removed, accounted once, no false "changed outside
// the plugin".
func TestAmbiguousDecreaseIsConfirmedWithoutDrift(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(map[int]string{1: "one id", 3: "batch of three"}[n], func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			// One batch for all ids.
			g := newTestGroup(t, s, awssim.GroupSpec{Desired: 4, MaxSize: 5}, func(o *GroupOptions) { o.TerminateConcurrency = 1 })
			ids := inService(t, g, 4)
			ctx := testCtx(t)
			// The first attempt takes effect; it and the SDK's retries lose
			// their answers.
			s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", DropResponse: true, Count: 3})
			out, err := g.Decrease(ctx, ids[:n])
			if err != nil {
				t.Fatal(err)
			}
			if d := desiredOf(t, s); d != 4-n {
				t.Fatalf("desired = %d, want %d", d, 4-n)
			}
			for _, o := range out {
				if !o.Status.Done() {
					t.Errorf("%s: %v %v, want done (the terminate took effect)", o.ID, o.Status, o.Err)
				}
			}
			_, drift, err := g.Refresh(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if drift != nil {
				t.Errorf("false drift %+v after the plugin's own terminate", drift)
			}
			// Increase builds on the right value.
			res, err := g.Increase(ctx, 1)
			if err != nil || res.From != desiredOf(t, s)-1 {
				t.Errorf("increase from %d (desired now %d), %v", res.From, desiredOf(t, s), err)
			}
		})
	}
}

// Stop (the plugin's Shutdown) returns while AWS hangs every call: it never
// waits on retries against a failing AWS.
func TestStopReturnsWhileAWSHangs(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{Speed: 300})
	g, sp, _ := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
		ActivityPollInterval: time.Millisecond,
		Fallback:             &FallbackOptions{After: 100 * time.Millisecond, Hold: time.Hour},
	})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "switch to on-demand", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	s.InjectFault(awssim.Fault{Service: "autoscaling", Hang: true})
	// Runs before the cleanups above: closing the simulator ends hung calls.
	t.Cleanup(func() { _ = s.Close() })
	done := make(chan struct{})
	go func() {
		sp.Stop(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Stop still waiting on a hanging AWS after 15s")
	}
}

// A health replacement held by a termination hook and abandoned leaves the
// instance Terminating:Retained, out of desired capacity, its replacement
// still to launch. When the runner Decreases it, the plugin terminates it
// again and lowers desired capacity once, as for any member AWS took
// without a decrement: nobody asked for the replacement. (Property test
// seed 2715826826.)
func TestDecreaseOfRetainedHealthReplacementLowersDesiredOnce(t *testing.T) {
	for _, byUpdate := range []bool{false, true} {
		t.Run(map[bool]string{false: "runner first", true: "update first"}[byUpdate], func(t *testing.T) {
			decreaseRetainedHealthReplacement(t, byUpdate)
		})
	}
}

func decreaseRetainedHealthReplacement(t *testing.T, byUpdate bool) {
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	ids := inService(t, g, 2)
	ctx := testCtx(t)
	suspendLaunch(t, true) // the replacement cannot launch yet
	if err := s.SetTerminationHook("runners", &awssim.TerminationHook{RetainOnAbandon: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHealth(ids[0], "Unhealthy"); err != nil {
		t.Fatal(err)
	}
	s.Advance(time.Second)
	if err := s.CompleteTermination(ids[0], "ABANDON"); err != nil {
		t.Fatal(err)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating:Retained/running" {
		t.Fatalf("after abandon: %s", got)
	}
	snap, _, err := g.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if byUpdate {
		// The plugin's own terminate of the retained member (each Update):
		// the runner removed nothing, so the replacement stays owed.
		if out, err := g.TerminateRetained(ctx, snap); err != nil || len(out) != 1 || !out[0].Status.Done() {
			t.Fatalf("terminate retained: %+v, %v", out, err)
		}
		if d := desiredOf(t, s); d != 2 {
			t.Fatalf("after the Update's terminate: desired = %d, want 2 (the runner removed nothing)", d)
		}
		if _, _, err := g.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	out, err := g.Decrease(ctx, ids[:1])
	if err != nil || !out[0].Status.Done() {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating/shutting-down" {
		t.Errorf("after Decrease: %s, want terminated again", got)
	}
	if d := desiredOf(t, s); d != 1 {
		t.Errorf("desired = %d, want 1 (lowered once for the instance the runner removed)", d)
	}
	if out, _ := g.Decrease(ctx, ids[:1]); len(out) != 1 || !out[0].Status.Done() {
		t.Errorf("repeat: %+v", out)
	}
	if d := desiredOf(t, s); d != 1 {
		t.Errorf("after a repeat: desired = %d, want 1", d)
	}
}

// A member terminated without a decrement (desired capacity no longer
// counted it), held by a termination hook and abandoned: its retained
// episode starts after the plugin's terminate, so the next Update
// terminates it again at once instead of waiting out the retry interval
// while it bills. (Property test seed 3400000025.)
func TestRetainedAfterTerminateWithoutDecrementIsTerminatedAgain(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 5})
	ids := inService(t, g, 1)
	ctx := testCtx(t)
	if err := s.SetTerminationHook("runners", &awssim.TerminationHook{RetainOnAbandon: true}); err != nil {
		t.Fatal(err)
	}
	// An operator scales in to 0 (the member is protected): the runner's
	// Decrease terminates it without a decrement.
	if err := s.SetDesiredExternally("runners", 0); err != nil {
		t.Fatal(err)
	}
	if out, err := g.Decrease(ctx, ids); err != nil || !out[0].Status.Done() {
		t.Fatalf("decrease: %+v, %v", out, err)
	}
	if err := s.CompleteTermination(ids[0], "ABANDON"); err != nil {
		t.Fatal(err)
	}
	snap, _, err := g.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := g.TerminateRetained(ctx, snap); err != nil || len(out) != 1 || out[0].Status != DecreaseRequested {
		t.Fatalf("retained member not terminated again: %+v, %v", out, err)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating/shutting-down" {
		t.Errorf("after the Update's terminate: %s", got)
	}
}
