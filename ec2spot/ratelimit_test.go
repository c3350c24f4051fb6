package ec2spot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"golang.org/x/time/rate"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
)

// limitedConfig loads the SDK config with one attempt per call, so every
// throttle AWS answers surfaces, and the given budgets.
func limitedConfig(t *testing.T, limits RateLimits) aws.Config {
	t.Helper()
	cfg, err := LoadAWSConfig(testCtx(t), AWSOptions{RetryBackoff: ZeroBackoff, RetryMaxAttempts: 1, RateLimits: limits, Endpoint: simtest.Endpoint(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's default HTTP client can lose a response to a local server
	// under CPU load (see CloseSafeClient).
	cfg.HTTPClient = NewHTTPClient(0)
	return cfg
}

// describeBurst runs n concurrent describes spread over separately built
// clients (as the group and the spot features build theirs) and returns
// the throttling errors.
func describeBurst(t *testing.T, cfg aws.Config, n int) int {
	t.Helper()
	clients := []AutoScalingAPI{NewClients(cfg).AutoScaling, NewClients(cfg).AutoScaling}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		throttled int
	)
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clients[k%2].DescribeAutoScalingGroups(testCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"runners"}})
			if err != nil && !IsThrottle(err) {
				t.Error(err)
			}
			if IsThrottle(err) {
				mu.Lock()
				throttled++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return throttled
}

func TestRateLimitSharedAcrossClients(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners"}); err != nil {
		t.Fatal(err)
	}
	// The client-side budget is well below AWS's, so scheduling jitter on
	// a loaded machine cannot bunch requests past the simulator's burst.
	s.SetThrottle("autoscaling", 10, 4)

	if n := describeBurst(t, limitedConfig(t, RateLimits{}), 10); n == 0 {
		t.Fatal("control: 10 concurrent describes against a burst of 4 were never throttled")
	}
	time.Sleep(500 * time.Millisecond) // refill the simulator's bucket

	start := time.Now()
	if n := describeBurst(t, limitedConfig(t, RateLimits{AutoScaling: RateLimit{Rate: 4, Burst: 2}}), 8); n != 0 {
		t.Errorf("%d describes throttled with the client-side limit below AWS's", n)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("8 calls at 4/s (burst 2) took %s: the clients did not share one budget", d)
	}
}

// A large Decrease against a tight Auto Scaling bucket surfaces no
// throttling error: batches are few and the limiter paces them.
func TestDecreaseBurstUnderThrottling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		limits    RateLimits
		wantFails bool
	}{
		{"without limit", RateLimits{}, true},
		{"with limit", RateLimits{AutoScaling: RateLimit{Rate: 4, Burst: 2}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", Desired: 60, MaxSize: 60}); err != nil {
				t.Fatal(err)
			}
			cfg := limitedConfig(t, tc.limits)
			g := NewGroup(GroupOptions{Name: "runners", Region: cfg.Region, Clients: NewClients(cfg)})
			ids := inService(t, g, 60)
			s.SetThrottle("autoscaling", 10, 4)
			time.Sleep(500 * time.Millisecond) // a full bucket to start from

			out, err := g.Decrease(testCtx(t), ids)
			if err != nil {
				t.Fatal(err)
			}
			var throttled int
			for _, o := range out {
				if o.Status == DecreaseFailed && IsThrottle(o.Err) {
					throttled++
				} else if !o.Status.Done() {
					t.Errorf("%s: %v %v", o.ID, o.Status, o.Err)
				}
			}
			if tc.wantFails && throttled == 0 {
				t.Error("control: ten parallel terminate calls against a burst of 4 were never throttled")
			}
			if !tc.wantFails && throttled > 0 {
				t.Errorf("%d of %d ids failed with throttling", throttled, len(ids))
			}
		})
	}
}

func TestLimiterBacksOffAfterThrottles(t *testing.T) {
	l := newAPILimiter(RateLimit{Rate: 16, Burst: 1})
	l.throttled()
	if got := l.currentRate(); got != 8 {
		t.Errorf("after one throttle: %v/s, want 8", got)
	}
	for range 10 {
		l.throttled()
	}
	if got := l.currentRate(); got != 1 {
		t.Errorf("after many throttles: %v/s, want the floor 1", got)
	}
	for range 100 {
		l.succeeded()
	}
	if got := l.currentRate(); got != rate.Limit(16) {
		t.Errorf("after many successes: %v/s, want the configured 16", got)
	}
	if newAPILimiter(RateLimit{}) != nil {
		t.Error("a zero rate must mean no limiter")
	}
	var none *apiLimiter
	if err := none.wait(context.Background()); err != nil {
		t.Error(err)
	}
}

// A throttle answered to any client of the family slows the shared limiter
// down for all of them; non-budgeted services pass untouched.
func TestRateLimitSlowsDownAfterThrottle(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners"}); err != nil {
		t.Fatal(err)
	}
	s.SetThrottle("autoscaling", 1, 1)
	set := newLimiterSet(RateLimits{AutoScaling: RateLimit{Rate: 100, Burst: 100}})
	cfg := limitedConfig(t, RateLimits{})
	cfg.APIOptions = append(cfg.APIOptions, set.apiOption)
	if n := describeBurst(t, cfg, 4); n == 0 {
		t.Fatal("4 concurrent describes against a burst of 1 were never throttled")
	}
	if got := set.autoScaling.currentRate(); got >= 100 {
		t.Errorf("rate after throttles = %v/s, want below the configured 100/s", got)
	}
	if set.forService("SQS") != nil || set.forService("STS") != nil {
		t.Error("SQS and STS must not be budgeted")
	}
}
