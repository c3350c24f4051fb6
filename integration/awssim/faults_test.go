package awssim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func aDescribe(ctx context.Context, c *autoscaling.Client) error {
	_, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	return err
}

func aHTTPStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestFaultsInjected(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)

	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "InternalFailure", Count: 2})
	for range 2 {
		err := aDescribe(ctx, c)
		aAPIError(t, err, "InternalFailure", "")
		if st := aHTTPStatus(err); st != 500 {
			t.Fatalf("status %d", st)
		}
	}
	aNoErr(t, aDescribe(ctx, c))

	id := s.InjectFault(awssim.Fault{Service: "autoscaling", Code: "ServiceUnavailable"})
	_, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{})
	aAPIError(t, err, "ServiceUnavailable", "")
	if st := aHTTPStatus(err); st != 503 {
		t.Fatalf("status %d", st)
	}
	// Other services are unaffected.
	_, err = aEC2(s).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	aNoErr(t, err)
	if !s.RemoveFault(id) {
		t.Fatal("RemoveFault")
	}
	aNoErr(t, aDescribe(ctx, c))

	s.InjectFault(awssim.Fault{Service: "autoscaling", Code: "ScalingActivityInProgress", Probability: 0.5})
	failed := 0
	for range 200 {
		if aDescribe(ctx, c) != nil {
			failed++
		}
	}
	if failed < 50 || failed > 150 {
		t.Fatalf("probability 0.5 failed %d of 200", failed)
	}
	s.ClearFaults()
	aNoErr(t, aDescribe(ctx, c))
}

func TestFaultsHangResetLatency(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c := aASG(s)

	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Hang: true, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	start := time.Now()
	err := aDescribe(ctx, c)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("hang: %v after %v", err, time.Since(start))
	}

	s.InjectFault(awssim.Fault{Service: "autoscaling", Reset: true, Count: 1})
	err = aDescribe(aCtx(t), c)
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("reset: want a transport error, got %v", err)
	}
	aNoErr(t, aDescribe(aCtx(t), c))

	s.SetLatency("autoscaling", "DescribeAutoScalingGroups", 150*time.Millisecond)
	start = time.Now()
	aNoErr(t, aDescribe(aCtx(t), c))
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	// Another action is not delayed: an hour's latency on this one would
	// outlast the context if it leaked.
	s.SetLatency("autoscaling", "DescribeAutoScalingGroups", time.Hour)
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	_, err = c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{})
	cancel()
	if err != nil {
		t.Fatalf("latency leaked to another action: %v", err)
	}
	s.SetLatency("autoscaling", "DescribeAutoScalingGroups", 0)
}

func TestThrottling(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, e, ctx := aASG(s), aEC2(s), aCtx(t)
	for range 50 {
		aNoErr(t, aDescribe(ctx, c)) // off by default
	}

	// One bucket for every Auto Scaling API.
	s.SetThrottle("autoscaling", 0.1, 5) // slow refill: robust on a busy machine
	var throttled, ok int
	for i := range 20 {
		var err error
		if i%2 == 0 {
			err = aDescribe(ctx, c)
		} else {
			_, err = c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{})
		}
		if err != nil {
			aAPIError(t, err, "Throttling", "Rate exceeded")
			throttled++
		} else {
			ok++
		}
	}
	if ok < 5 || ok > 6 || throttled < 14 {
		t.Fatalf("burst 5: %d ok, %d throttled", ok, throttled)
	}

	s.SetThrottle("ec2", 0.1, 2)
	var ec2Err error
	for range 5 {
		if _, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			ec2Err = err
		}
	}
	aAPIError(t, ec2Err, "RequestLimitExceeded", "Request limit exceeded.")
	if st := aHTTPStatus(ec2Err); st != 503 {
		t.Fatalf("EC2 throttle status %d", st)
	}
	s.SetThrottle("autoscaling", 0, 0)
	aNoErr(t, aDescribe(ctx, c))

	// Options.Throttle turns on AWS-like defaults.
	d, err := awssim.Start(awssim.Options{Throttle: true}) // not newASim: this test is parallel already
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	dc := aASG(d)
	for i := 0; i < 200 && err == nil; i++ {
		err = aDescribe(ctx, dc)
	}
	aAPIError(t, err, "Throttling", "Rate exceeded")
}

func TestSDKRetriesInjectedThrottle(t *testing.T) {
	s := newASim(t, awssim.Options{})
	cfg := aConfig(s, aKey, aSecret)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	c := autoscaling.NewFromConfig(cfg)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "Throttling", Count: 2})
	aNoErr(t, aDescribe(aCtx(t), c))
	if n := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); n != 3 {
		t.Fatalf("want 3 attempts, got %d", n)
	}
}

func TestCallCounters(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	for range 3 {
		aNoErr(t, aDescribe(ctx, c))
	}
	_, err := aEC2(s).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	aNoErr(t, err)
	if n := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); n != 3 {
		t.Fatalf("count %d", n)
	}
	if calls := s.Calls(); calls["ec2:DescribeInstances"] != 1 || len(calls) != 2 {
		t.Fatalf("calls %v", calls)
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Fatal("ResetCalls")
	}
}
