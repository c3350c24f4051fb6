package ec2spot

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func statuses(out []DecreaseOutcome) map[string]DecreaseStatus {
	m := map[string]DecreaseStatus{}
	for _, o := range out {
		m[o.ID] = o.Status
	}
	return m
}

func TestDecreaseTerminatesMembersOnly(t *testing.T) {
	t.Parallel()
	// Terminating lasts until the test moves the clock, however slow the
	// machine: the repeat must find the instances still terminating.
	s := fastSim(t, awssim.Options{TerminateDelay: time.Hour})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 3, MaxSize: 5})
	ids := inService(t, g, 3)
	// A standalone instance of the same account is not ours.
	ctx := testCtx(t)

	s.ResetCalls()
	out, err := g.Decrease(ctx, []string{ids[0], "i-0123456789abcdef0", ids[1], ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("outcomes %+v: want one per distinct id", out)
	}
	st := statuses(out)
	if st[ids[0]] != DecreaseRequested || st[ids[1]] != DecreaseRequested || st["i-0123456789abcdef0"] != DecreaseRefusedForeign {
		t.Fatalf("statuses %v", st)
	}
	if got := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); got != 2 {
		t.Errorf("terminate calls = %d, want 2 (never for a foreign id)", got)
	}
	// The unknown id made it look once more before refusing.
	if got := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); got != 1 {
		t.Errorf("describe calls = %d, want 1", got)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d, want 1 (decremented)", gr.Desired)
	}

	// Again: already terminating, then gone; no further terminate calls.
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	out, _ = g.Decrease(ctx, []string{ids[0], ids[1]})
	for _, o := range out {
		if o.Status != DecreaseAlreadyTerminating {
			t.Errorf("repeat: %s %v", o.ID, o.Status)
		}
	}
	s.Advance(time.Hour)
	eventually(t, "terminated instances to leave the group", func() bool {
		snap, _, _ := g.Refresh(ctx)
		_, a := snap.Instance(ids[0])
		_, b := snap.Instance(ids[1])
		return !a && !b
	})
	out, _ = g.Decrease(ctx, []string{ids[0], ids[1]})
	for _, o := range out {
		if o.Status != DecreaseAlreadyGone || !o.Status.Done() {
			t.Errorf("after leaving: %s %v", o.ID, o.Status)
		}
	}
	if got := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); got != 0 {
		t.Errorf("terminate calls on repeats = %d, want 0", got)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d after repeats, want 1", gr.Desired)
	}
}

func TestDecreaseConfirmsValidationErrorsFromState(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 5})
	id := inService(t, g, 1)[0]
	// It leaves the group after the plugin's last look.
	if err := s.TerminateExternally(id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance to leave the group", func() bool { return !inGroup(s, id) })
	out, err := g.Decrease(testCtx(t), []string{id})
	if err != nil || len(out) != 1 || !out[0].Status.Done() {
		t.Fatalf("decrease of a since-gone member: %+v, %v", out, err)
	}
}

func inGroup(s *awssim.Sim, id string) bool {
	inst, ok := s.Instance(id)
	return ok && inst.Group != "" && inst.Lifecycle != "Terminated"
}

func TestDecreaseContinuesPastFailures(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 3, MaxSize: 5})
	ids := inService(t, g, 3)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", Code: "ResourceContention", Message: "busy", Count: 1})
	out, err := g.Decrease(testCtx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	var done, failed int
	for _, o := range out {
		switch {
		case o.Status == DecreaseRequested:
			done++
		case o.Status == DecreaseFailed && o.Err != nil:
			failed++
		}
	}
	if done != 2 || failed != 1 {
		t.Fatalf("outcomes %+v", out)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d, want 1", gr.Desired)
	}
}

func TestDecreaseNonRetryableFailure(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	ids := inService(t, g, 2)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", Code: "AccessDenied", Message: "no", Status: 403, Count: 1})
	out, err := g.Decrease(testCtx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(out)
	var failed, requested int
	for _, v := range st {
		switch v {
		case DecreaseFailed:
			failed++
		case DecreaseRequested:
			requested++
		}
	}
	if failed != 1 || requested != 1 {
		t.Fatalf("statuses %v", st)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d, want 1", gr.Desired)
	}
}

func TestDecreaseBoundedConcurrency(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	peak := &peakASG{}
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 25, MaxSize: 25}, func(o *GroupOptions) {
		peak.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = peak
	})
	ids := inService(t, g, 25)
	s.SetLatency("autoscaling", "TerminateInstanceInAutoScalingGroup", 20*time.Millisecond)
	out, err := g.Decrease(testCtx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Status != DecreaseRequested {
			t.Errorf("%s: %v %v", o.ID, o.Status, o.Err)
		}
	}
	if p := peak.peak.Load(); p > DefaultTerminateConcurrency || p < 2 {
		t.Errorf("peak concurrent terminate calls = %d, want 2..%d", p, DefaultTerminateConcurrency)
	}
}

// peakASG records the peak number of concurrent terminate calls.
type peakASG struct {
	AutoScalingAPI
	mu   sync.Mutex
	now  int
	peak atomic.Int64
}

func (p *peakASG) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, opts ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	p.mu.Lock()
	p.now++
	if int64(p.now) > p.peak.Load() {
		p.peak.Store(int64(p.now))
	}
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.now--; p.mu.Unlock() }()
	return p.AutoScalingAPI.TerminateInstanceInAutoScalingGroup(ctx, in, opts...)
}

func TestDecreaseRetainedWithoutDecrement(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	rec := &recordingASG{}
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5}, func(o *GroupOptions) {
		rec.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = rec
	})
	ids := inService(t, g, 2)
	s.SetSpeed(0.001)
	if err := s.SetLifecycleState(ids[0], "Terminating:Retained"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Refresh(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	out, err := g.Decrease(testCtx(t), []string{ids[0], ids[1]})
	if err != nil || !out[0].Status.Done() || !out[1].Status.Done() {
		t.Fatalf("outcomes %+v, %v", out, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.decrement[ids[0]] || !rec.decrement[ids[1]] {
		t.Errorf("decrement flags %v: want false for the retained instance only", rec.decrement)
	}
}

// recordingASG records ShouldDecrementDesiredCapacity per terminated id.
type recordingASG struct {
	AutoScalingAPI
	mu        sync.Mutex
	decrement map[string]bool
}

func (r *recordingASG) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, opts ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	r.mu.Lock()
	if r.decrement == nil {
		r.decrement = map[string]bool{}
	}
	ids := in.InstanceIds
	if in.InstanceId != nil {
		ids = append(ids, *in.InstanceId)
	}
	for _, id := range ids {
		r.decrement[id] = *in.ShouldDecrementDesiredCapacity
	}
	r.mu.Unlock()
	return r.AutoScalingAPI.TerminateInstanceInAutoScalingGroup(ctx, in, opts...)
}

func TestClassifyForDecrease(t *testing.T) {
	snap := newSnapshot(&types.AutoScalingGroup{Instances: []types.Instance{
		{InstanceId: aws.String("i-live"), LifecycleState: types.LifecycleStateInService},
		{InstanceId: aws.String("i-pending"), LifecycleState: types.LifecycleStatePendingWait},
		{InstanceId: aws.String("i-term"), LifecycleState: types.LifecycleStateTerminatingWait},
		{InstanceId: aws.String("i-gone"), LifecycleState: types.LifecycleStateTerminated},
		{InstanceId: aws.String("i-standby"), LifecycleState: types.LifecycleStateStandby},
		{InstanceId: aws.String("i-detach"), LifecycleState: types.LifecycleStateDetaching},
		{InstanceId: aws.String("i-warm"), LifecycleState: types.LifecycleStateWarmedRunning},
		{InstanceId: aws.String("i-new"), LifecycleState: "Hibernating:Wait"},
	}}, time.Now())
	for id, want := range map[string]DecreaseStatus{
		"i-live": DecreaseRequested, "i-pending": DecreaseRequested, "i-term": DecreaseAlreadyTerminating,
		"i-gone": DecreaseAlreadyTerminating, "i-standby": DecreaseRefusedOperator, "i-detach": DecreaseRefusedOperator,
		"i-warm": DecreaseRefusedWarmPool, "i-new": DecreaseRequested,
	} {
		if got := classifyForDecrease(snap, id, true, false); got != want {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
	if got := classifyForDecrease(snap, "i-elsewhere", false, false); got != DecreaseRefusedForeign {
		t.Errorf("foreign: %v", got)
	}
	if got := classifyForDecrease(snap, "i-left", true, false); got != DecreaseAlreadyGone {
		t.Errorf("left: %v", got)
	}
}

func TestDecreaseBatches(t *testing.T) {
	t.Parallel()
	for n, want := range map[[2]int]int{{1, 10}: 1, {10, 10}: 1, {11, 10}: 2, {25, 10}: 3, {1000, 10}: 100, {5000, 10}: 100} {
		if got := batchSize(n[0], n[1]); got != want {
			t.Errorf("batchSize(%d, %d) = %d, want %d", n[0], n[1], got, want)
		}
	}

	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 40, MaxSize: 40})
	ids := inService(t, g, 40)
	// One rejected batch (as when one of its ids left meanwhile) is retried
	// id by id; the others stay batched.
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", Code: "ValidationError", Message: "Instance Id not found", Count: 1})
	s.ResetCalls()
	out, err := g.Decrease(testCtx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Status != DecreaseRequested {
			t.Errorf("%s: %v %v", o.ID, o.Status, o.Err)
		}
	}
	if got := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); got != 10+4 {
		t.Errorf("terminate calls = %d, want 10 batches of 4 plus 4 single retries", got)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 0 {
		t.Errorf("desired = %d, want 0", gr.Desired)
	}
}
