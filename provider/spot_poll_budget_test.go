package provider

import (
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// While a spot instance under notice is in service and the group is
// otherwise settled, Update answers from a description up to poll_interval
// old; once AWS's two minutes are over the instance may leave at any
// moment, and fleeting counts it toward max_instances until it sees it
// gone: every Update describes the group again.
func TestUpdateDescribesOnceTheNoticePeriodIsOver(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	clk := &fakeClock{t: time.Now()}
	p := clockedSpotPlugin(t, s, clk)
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 2)
	s.SetSpeed(0.001) // AWS's clock stands still: it never takes the instance
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	// describes runs 5 Updates over one poll interval.
	describes := func() int {
		t.Helper()
		s.ResetCalls()
		for range 5 {
			clk.advance(DefaultPollInterval / 5)
			p.states(t)
		}
		return s.CallCount("autoscaling", "DescribeAutoScalingGroups")
	}
	describes() // sees the notice and lowers desired capacity
	if n := describes(); n != 1 {
		t.Fatalf("settled under notice: 5 Updates over %s described %d times, want 1", DefaultPollInterval, n)
	}
	clk.advance(2 * time.Minute)
	if n := describes(); n != 5 {
		t.Errorf("after the notice period: 5 Updates described %d times, want 5 (the instance may leave at any moment)", n)
	}
}

// fleeting updates every 2 s while instances launch; the spot poll runs
// once per default poll_interval, 30 s, whatever that pace: ConnectInfo and
// Heartbeat check a stale answer themselves.
func TestSpotPollRunsEvery30sByDefault(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	clk := &fakeClock{t: time.Now()}
	p := clockedSpotPlugin(t, s, clk)
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.waitRunning(t, 1)
	s.SetSpeed(0.001) // the next launch stays pending: every Update describes
	if _, err := p.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	for n := range 30 {
		clk.advance(2 * time.Second)
		p.states(t)
		if n == 0 {
			if polls := s.CallCount("ec2", "DescribeSpotInstanceRequests"); polls != 1 {
				t.Fatalf("first Update after %s: %d spot polls, want 1", DefaultPollInterval, polls)
			}
		}
	}
	if polls := s.CallCount("ec2", "DescribeSpotInstanceRequests"); polls != 2 {
		t.Errorf("30 Updates 2 s apart (60 s) cost %d DescribeSpotInstanceRequests, want 2 (one per 30 s)", polls)
	}
	if d := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); d < 30 {
		t.Errorf("%d describes for 30 Updates while an instance launches, want 30", d)
	}
}
