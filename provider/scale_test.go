package provider

import (
	"strings"
	"testing"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestIncreasePartialAndFull(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3}, provider.Settings{})
	ctx := testCtx(t)

	n, err := p.Increase(ctx, 5)
	if n != 3 || err != nil {
		t.Fatalf("Increase(5) with room for 3: %d, %v (want 3, nil)", n, err)
	}
	if !p.log.Contains("requested fewer instances than asked: the group reached its MaxSize: group=runners region=us-east-1 asked=5 requested=3") {
		t.Errorf("partial increase not logged:\n%s", p.log)
	}
	n, err = p.Increase(ctx, 1)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "is at its MaxSize") {
		t.Fatalf("Increase when full: %d, %v", n, err)
	}
	// The runner retries while pending launches are not visible yet: no
	// double counting.
	p.states(t)
	if n, err := p.Increase(ctx, 1); n != 0 || err == nil {
		t.Fatalf("Increase when full after Update: %d, %v", n, err)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 3 {
		t.Errorf("desired = %d", gr.Desired)
	}
}

func TestIncreaseThrottledIsZeroWithError(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3}, provider.Settings{})
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", Code: "Throttling", Message: "Rate exceeded"})
	n, err := p.Increase(testCtx(t), 2)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "throttled by AWS calling autoscaling:SetDesiredCapacity") {
		t.Fatalf("throttled Increase: %d, %v", n, err)
	}
}

func TestDecreaseOnlyGivenMembers(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, provider.Settings{})
	ids := p.waitRunning(t, 2)
	ctx := testCtx(t)

	got, err := p.Decrease(ctx, []string{ids[0], "i-0000000000000f00d"})
	if err != nil || len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("Decrease(member, foreign): %v, %v", got, err)
	}
	if !p.log.Contains("refusing to terminate instance: group=runners region=us-east-1 instance=i-0000000000000f00d outcome=\"refused: not a member of the group\"") {
		t.Errorf("refusal not logged:\n%s", p.log)
	}
	got, err = p.Decrease(ctx, []string{"i-0000000000000f00d"})
	if len(got) != 0 || err == nil || !strings.Contains(err.Error(), "not a member of the group") {
		t.Fatalf("Decrease(foreign): %v, %v", got, err)
	}
	// Repeated: still success, no second terminate.
	s.ResetCalls()
	got, err = p.Decrease(ctx, []string{ids[0]})
	if err != nil || len(got) != 1 {
		t.Fatalf("repeat: %v, %v", got, err)
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n > 1 {
		t.Errorf("terminate calls on repeat = %d", n)
	}
	if st := p.states(t); st[ids[0]] != provider.StateDeleting && st[ids[0]] != "" {
		t.Errorf("terminated instance reported %q", st[ids[0]])
	}

	// Partial failure: the good id is returned without an error.
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", Code: "ResourceContention", Message: "busy", Count: 1})
	p2ids := []string{ids[1], "i-0000000000000beef"}
	got, err = p.Decrease(ctx, p2ids)
	if len(got) != 0 || err == nil {
		t.Fatalf("failed member + foreign: %v, %v", got, err)
	}
	got, err = p.Decrease(ctx, p2ids)
	if err != nil || len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("retry: %v, %v", got, err)
	}
}
