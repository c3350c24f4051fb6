package provider

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func initSpotPlugin(t *testing.T, s *awssim.Sim, cfg map[string]any) testPlugin {
	t.Helper()
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 4}); err != nil {
		t.Fatal(err)
	}
	cfg["name"] = "runners"
	p := newPlugin(t, cfg)
	p.spotOptions = func(o *ec2spot.SpotOptions) { o.ActivityPollInterval, o.QueueWait = time.Millisecond, 1 }
	if _, err := p.Init(testCtx(t), p.logger(), provider.Settings{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(testCtx(t)) })
	return p
}

func TestSpotSignalsReachFleeting(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	url := s.CreateQueue("interruptions")
	if err := s.SubscribeQueue("interruptions"); err != nil {
		t.Fatal(err)
	}
	p := initSpotPlugin(t, s, map[string]any{"interruption_queue_url": url})
	if _, err := p.Increase(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 2)
	doomed, drained := ids[0], ids[1]
	if err := s.Interrupt(doomed, "terminate"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecommendRebalance(drained); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Heartbeat(testCtx(t), drained) == nil {
		if time.Now().After(deadline) {
			t.Fatal("rebalance recommendation never made Heartbeat fail")
		}
		time.Sleep(5 * time.Millisecond)
	}
	states := p.states(t)
	if states[doomed] != provider.StateDeleting || states[drained] != provider.StateRunning {
		t.Errorf("states %v: want %s deleting and %s still running (drain)", states, doomed, drained)
	}
	for _, id := range ids {
		if err := p.Heartbeat(testCtx(t), id); !errors.Is(err, provider.ErrInstanceUnhealthy) {
			t.Errorf("Heartbeat(%s) = %v, want ErrInstanceUnhealthy", id, err)
		}
	}
	if _, err := p.ConnectInfo(testCtx(t), doomed); err == nil || !strings.Contains(err.Error(), "AWS is taking the instance") {
		t.Errorf("ConnectInfo of a doomed instance: %v", err)
	}
}

func TestIncreaseHoldsBackWhileSpotCapacityIsOut(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{Speed: 300})
	p := initSpotPlugin(t, s, map[string]any{})
	for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if n, err := p.Increase(testCtx(t), 1); n != 1 || err != nil {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.log.Contains("could not launch an instance") {
		if time.Now().After(deadline) {
			t.Fatalf("no launch failure logged:\n%s", p.log)
		}
		p.states(t)
		time.Sleep(5 * time.Millisecond)
	}
	if n, err := p.Increase(testCtx(t), 1); n != 0 || err != nil {
		t.Errorf("Increase during a capacity shortage = %d, %v; want 0, nil (held back)", n, err)
	}
	if !p.log.Contains("holding back new instance requests") {
		t.Errorf("hold not logged:\n%s", p.log)
	}
}

func TestSynchronousLaunchMode(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p := initSpotPlugin(t, s, map[string]any{"launch_mode": "synchronous"})
	if n, err := p.Increase(testCtx(t), 2); n != 2 || err != nil {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	p.waitRunning(t, 2)
	if l, d := s.CallCount("autoscaling", "LaunchInstances"), s.CallCount("autoscaling", "SetDesiredCapacity"); l == 0 || d != 0 {
		t.Errorf("LaunchInstances %d calls, SetDesiredCapacity %d; want launches only", l, d)
	}
}

// Without an interruption queue and with no Update running, a notice made
// visible in the API reaches ConnectInfo and Heartbeat within 5 s (the
// default spot_check_max_age, 3 s, plus one check), real clock.
func TestConnectInfoRefusesANoticeSeenOnlyInTheAPI(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Hour}) // AWS takes it long after the test
	p := initSpotPlugin(t, s, map[string]any{})
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 2)
	doomed, other := ids[0], ids[1]
	if _, err := p.ConnectInfo(ctx, doomed); err != nil {
		t.Fatalf("ConnectInfo before the notice: %v", err)
	}
	if err := s.Interrupt(doomed, "terminate"); err != nil {
		t.Fatal(err)
	}
	notice := time.Now()
	for {
		_, err := p.ConnectInfo(ctx, doomed)
		if err != nil {
			if !strings.Contains(err.Error(), "AWS is taking the instance") || !strings.Contains(err.Error(), "marked-for-termination") {
				t.Fatalf("ConnectInfo refused with %v, want the notice named", err)
			}
			break
		}
		if time.Since(notice) > 5*time.Second {
			t.Fatal("ConnectInfo still hands out the instance 5 s after its notice became visible")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("notice visible → ConnectInfo refused: %s", time.Since(notice).Round(time.Millisecond))
	if err := p.Heartbeat(ctx, doomed); !errors.Is(err, provider.ErrInstanceUnhealthy) {
		t.Errorf("Heartbeat of the doomed instance = %v, want ErrInstanceUnhealthy", err)
	}
	if err := p.Heartbeat(ctx, other); err != nil {
		t.Errorf("Heartbeat of the other instance = %v", err)
	}
	if _, err := p.ConnectInfo(ctx, other); err != nil {
		t.Errorf("ConnectInfo of the other instance = %v", err)
	}
}

// fakeClock is a settable clock for the plugin's freshness rules.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// clockedSpotPlugin is initSpotPlugin with the group and spot features on
// clk (default poll_interval and spot_check_max_age).
func clockedSpotPlugin(t *testing.T, s *awssim.Sim, clk *fakeClock) testPlugin {
	t.Helper()
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 4}); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, map[string]any{"name": "runners"}, func(o *ec2spot.GroupOptions) { o.Now = clk.now })
	p.spotOptions = func(o *ec2spot.SpotOptions) { o.Now, o.ActivityPollInterval = clk.now, time.Millisecond }
	if _, err := p.Init(testCtx(t), p.logger(), provider.Settings{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(testCtx(t)) })
	return p
}

// Concurrent ConnectInfo and Heartbeat calls on a stale spot status share
// one DescribeSpotInstanceRequests.
func TestConcurrentConnectInfoCostsOneSpotCheck(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Hour}) // AWS takes it long after the test
	clk := &fakeClock{t: time.Now()}
	p := clockedSpotPlugin(t, s, clk)
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 3)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	clk.advance(DefaultSpotCheckMaxAge + time.Millisecond)
	s.ResetCalls()
	var wg sync.WaitGroup
	errs := make([]error, 2*len(ids))
	for n := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if id := ids[n/2]; n%2 == 0 {
				_, errs[n] = p.ConnectInfo(ctx, id)
			} else {
				errs[n] = p.Heartbeat(ctx, id)
			}
		}()
	}
	wg.Wait()
	if n := s.CallCount("ec2", "DescribeSpotInstanceRequests"); n != 1 {
		t.Errorf("%d concurrent ConnectInfo/Heartbeat calls made %d DescribeSpotInstanceRequests, want 1", len(errs), n)
	}
	for n, err := range errs {
		if doomed := n/2 == 0; doomed != (err != nil) {
			t.Errorf("call %d on %s (doomed %v): %v", n, ids[n/2], doomed, err)
		}
	}
}

// The call budget of Update: while a spot instance under notice is still
// in service (reported deleting, so fleeting polls every 2 s) and nothing
// else moves, 5 Updates over 10 s cost one describe and one spot poll,
// where each Update cost both before; the first 5 cost one describe more,
// which confirms the plugin lowering desired capacity for the notice. While instances launch, every Update
// describes and the spot poll still runs every poll_interval.
func TestUpdateCallBudget(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	clk := &fakeClock{t: time.Now()}
	p := clockedSpotPlugin(t, s, clk)
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 2)
	s.SetSpeed(0.001) // AWS's clock stands still: the notice runs, a launch stays pending
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	calls := func() (describes, polls int) {
		return s.CallCount("autoscaling", "DescribeAutoScalingGroups"), s.CallCount("ec2", "DescribeSpotInstanceRequests")
	}
	cycle := func(what string, wantDescribes, wantPolls int) {
		t.Helper()
		s.ResetCalls()
		for n := range 5 {
			clk.advance(DefaultPollInterval / 5)
			states := p.states(t)
			if n > 0 || what != "notice" {
				if states[ids[0]] != provider.StateDeleting || states[ids[1]] != provider.StateRunning {
					t.Fatalf("%s, Update %d: states %v, want %s deleting and %s running", what, n, states, ids[0], ids[1])
				}
			}
		}
		if d, pl := calls(); d != wantDescribes || pl != wantPolls {
			t.Errorf("%s: 5 Updates over %s cost %d DescribeAutoScalingGroups and %d DescribeSpotInstanceRequests, want %d and %d",
				what, DefaultPollInterval, d, pl, wantDescribes, wantPolls)
		}
	}
	cycle("notice", 2, 1)
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d under notice, want 1 (lowered for the noticed instance)", gr.Desired)
	}
	cycle("under notice, settled", 1, 1)
	if _, err := p.ConnectInfo(ctx, ids[0]); err == nil {
		t.Error("ConnectInfo handed out the instance under notice")
	}
	if _, err := p.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cycle("launching", 5, 1)
}
