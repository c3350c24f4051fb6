package ec2spot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestRefreshIsOneDescribe(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5})
	inService(t, g, 2)

	s.ResetCalls()
	snap, drift, err := g.Refresh(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if drift != nil {
		t.Errorf("drift on a quiet group: %+v", drift)
	}
	if got := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); got != 1 {
		t.Errorf("DescribeAutoScalingGroups calls = %d, want 1", got)
	}
	if got := s.CallCount("ec2", "DescribeInstances"); got != 0 {
		t.Errorf("DescribeInstances calls = %d, want 0", got)
	}
	if snap.MaxSize != 5 || snap.Desired != 2 || len(snap.Instances) != 2 || !snap.NewInstancesProtectedFromScaleIn || !snap.Suspended("AZRebalance") {
		t.Errorf("snapshot: %+v", snap)
	}
	for _, i := range snap.Instances {
		if i.InstanceType == "" || i.AvailabilityZone == "" || !i.Healthy() || !i.Protected {
			t.Errorf("instance: %+v", i)
		}
	}
}

func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Name: "other"})
	missing := NewGroup(GroupOptions{Name: "runners", Region: "us-east-1", Clients: g.clients})

	_, _, err := missing.Refresh(testCtx(t))
	var nf *GroupNotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `auto scaling group "runners" not found in region us-east-1: check plugin_config name and region`) {
		t.Errorf("missing group: %v", err)
	}

	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "AccessDenied", Message: "User is not authorized", Status: 403, Count: 1})
	_, _, err = g.Refresh(testCtx(t))
	if !IsAccessDenied(err) || !strings.Contains(err.Error(), "access denied calling autoscaling:DescribeAutoScalingGroups: grant this action") {
		t.Errorf("access denied: %v", err)
	}
	if g.Latest() != nil {
		t.Error("a failed refresh produced a snapshot")
	}

	// Throttling is retried by the SDK; beyond its attempts it surfaces.
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "Throttling", Message: "Rate exceeded", Count: 2})
	if _, _, err := g.Refresh(testCtx(t)); err != nil {
		t.Errorf("two throttles within three attempts: %v", err)
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "Throttling", Message: "Rate exceeded", Count: 3})
	if _, _, err := g.Refresh(testCtx(t)); !IsThrottle(err) || !strings.Contains(err.Error(), "throttled by AWS") {
		t.Errorf("persistent throttling: %v", err)
	}
}

func TestIncreaseClampsToMaxSize(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3})

	res, err := g.Increase(testCtx(t), 5)
	if err != nil || res.Requested != 3 || res.Desired != 3 || res.From != 0 {
		t.Fatalf("Increase(5) at max 3: %+v, %v", res, err)
	}
	res, err = g.Increase(testCtx(t), 1)
	var full *AtMaxSizeError
	if !errors.As(err, &full) || res.Requested != 0 || !strings.Contains(err.Error(), "is at its MaxSize (desired capacity 3, MaxSize 3)") {
		t.Fatalf("Increase at max: %+v, %v", res, err)
	}
	if got := s.CallCount("autoscaling", "SetDesiredCapacity"); got != 1 {
		t.Errorf("SetDesiredCapacity calls = %d, want 1 (none when full)", got)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 3 {
		t.Errorf("desired = %d", gr.Desired)
	}
}

func TestIncreaseBuildsOnOwnUnconfirmedChanges(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	lag := &laggingASG{}
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 10}, func(o *GroupOptions) {
		lag.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = lag
	})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := g.Increase(ctx, 2); err != nil || res.Desired != 2 {
		t.Fatalf("first Increase: %+v, %v", res, err)
	}
	// The next describes still show desired 0 and no instances.
	lag.lag(2)
	snap, drift, err := g.Refresh(ctx)
	if err != nil || snap.Desired != 0 {
		t.Fatalf("stale refresh: %+v, %v", snap, err)
	}
	if drift != nil {
		t.Errorf("own unconfirmed change reported as drift: %+v", drift)
	}
	res, err := g.Increase(ctx, 1)
	if err != nil || res.From != 2 || res.Desired != 3 {
		t.Fatalf("Increase on a stale snapshot: %+v, %v (must build on 2, not 0)", res, err)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 3 {
		t.Errorf("group desired = %d, want 3", gr.Desired)
	}
}

func TestIncreaseRetriesWhenMaxSizeWasLowered(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 5})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := operator(t).UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("runners"), MaxSize: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	res, err := g.Increase(ctx, 3)
	if err != nil || res.Requested != 2 || res.MaxSize != 2 {
		t.Fatalf("Increase after MaxSize lowered: %+v, %v", res, err)
	}
}

func TestIncreaseThrottled(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 5})
	ctx := testCtx(t)

	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", Code: "Throttling", Message: "Rate exceeded", Count: 1})
	if res, err := g.Increase(ctx, 1); err != nil || res.Requested != 1 {
		t.Fatalf("one throttle: %+v, %v", res, err)
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", Code: "Throttling", Message: "Rate exceeded"})
	res, err := g.Increase(ctx, 1)
	if err == nil || !IsThrottle(err) || res.Requested != 0 {
		t.Fatalf("persistent throttle: %+v, %v", res, err)
	}
	s.ClearFaults()
	// The failed call changed nothing: the next one builds on 1, not 2.
	if res, err := g.Increase(ctx, 1); err != nil || res.Desired != 2 {
		t.Fatalf("after throttling: %+v, %v", res, err)
	}
}

func TestDriftDetection(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 10})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Increase(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, drift, err := g.Refresh(ctx); err != nil || drift != nil {
		t.Fatalf("own change: drift %+v, %v", drift, err)
	}

	if _, err := operator(t).SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	_, drift, err := g.Refresh(ctx)
	if err != nil || drift == nil || drift.Expected != 2 || drift.Observed != 5 {
		t.Fatalf("external change: drift %+v, %v", drift, err)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Errorf("drift reported twice: %+v", drift)
	}
	// The group's value is adopted.
	if res, err := g.Increase(ctx, 1); err != nil || res.Desired != 6 {
		t.Errorf("Increase after drift: %+v, %v", res, err)
	}
}

func TestDriftAfterConsistencyWindow(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	lag := &laggingASG{}
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 10}, func(o *GroupOptions) {
		o.Now = clock
		lag.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = lag
	})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Increase(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// Someone resets desired to 0 right after; describes show 0.
	if _, err := operator(t).SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, drift, _ := g.Refresh(ctx); drift != nil {
		t.Fatalf("drift inside the consistency window: %+v", drift)
	}
	mu.Lock()
	now = now.Add(DefaultConsistencyWindow + time.Second)
	mu.Unlock()
	_, drift, err := g.Refresh(ctx)
	if err != nil || drift == nil || drift.Expected != 2 || drift.Observed != 0 {
		t.Fatalf("drift after the window: %+v, %v", drift, err)
	}
}

func TestIncreaseBuildsOnLiveMembersWhenDesiredWasLowered(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 10})
	inService(t, g, 2)
	ctx := testCtx(t)
	// Desired lowered outside the plugin; protected instances stay.
	if _, err := operator(t).SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := g.Increase(ctx, 1)
	if err != nil || res.From != 2 || res.Desired != 3 {
		t.Fatalf("Increase: %+v, %v (raising 0 to 1 would launch nothing)", res, err)
	}
}

// laggingASG answers the next n describes with the last result seen before
// lag was called: an eventually consistent Auto Scaling API.
type laggingASG struct {
	AutoScalingAPI
	mu    sync.Mutex
	last  *autoscaling.DescribeAutoScalingGroupsOutput
	stale int
}

func (l *laggingASG) lag(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stale = n
}

func (l *laggingASG) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	l.mu.Lock()
	if l.stale > 0 && l.last != nil {
		l.stale--
		out := l.last
		l.mu.Unlock()
		return out, nil
	}
	l.mu.Unlock()
	out, err := l.AutoScalingAPI.DescribeAutoScalingGroups(ctx, in, opts...)
	if err == nil {
		l.mu.Lock()
		l.last = out
		l.mu.Unlock()
	}
	return out, err
}
