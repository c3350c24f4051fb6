package provider

import (
	"errors"
	"strings"
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
