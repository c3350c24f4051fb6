package awssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// A termination lifecycle hook holds a group-initiated termination in
// Terminating:Wait (still running); abandoned with retention the instance
// stays Terminating:Retained, out of desired capacity, until a terminate
// call ends it (not held again); continued, it terminates. EC2-driven
// terminations are never held.
func TestTerminationHookHoldsAbandonsAndRetains(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 3, MaxSize: 5}))
	aWait(t, "three in service", func() bool { return len(aInService(s, "g")) == 3 })
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{RetainOnAbandon: true}))
	c, ctx := aASG(s), aCtx(t)
	ids := aInService(s, "g")
	kept, continued, byHand := ids[0].ID, ids[1].ID, ids[2].ID

	for _, id := range []string{kept, continued} {
		_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
		aNoErr(t, err)
		if i, _ := s.Instance(id); i.Lifecycle != "Terminating:Wait" || i.State != "running" {
			t.Fatalf("%s after terminate with a hook: %s / %s, want Terminating:Wait / running", id, i.Lifecycle, i.State)
		}
	}
	if g, _ := s.Group("g"); g.Desired != 1 {
		t.Fatalf("desired %d, want 1 (both decremented)", g.Desired)
	}
	aNoErr(t, s.CompleteLifecycleAction(kept, "ABANDON"))
	aNoErr(t, s.CompleteLifecycleAction(continued, "CONTINUE"))
	if err := s.CompleteLifecycleAction(kept, "CONTINUE"); err == nil {
		t.Fatal("a second result for the same action was accepted")
	}
	aWait(t, "continued one terminated", func() bool { i, _ := s.Instance(continued); return i.State == "terminated" })
	s.Advance(5 * time.Minute) // five minutes: the retained one must not go by itself
	if i, _ := s.Instance(kept); i.Lifecycle != "Terminating:Retained" || i.State != "running" {
		t.Fatalf("abandoned: %s / %s, want Terminating:Retained / running", i.Lifecycle, i.State)
	}
	if g := aDescribeGroup(t, c, "g"); !hasState(g, kept, "Terminating:Retained") || aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Fatalf("group does not show the retained instance at desired 1: %+v", g.Instances)
	}
	// Retained instances are out of desired capacity: no scale-in, no launch.
	if n := len(aInService(s, "g")); n != 1 {
		t.Fatalf("%d in service, want 1", n)
	}

	// The terminate call that ends a retained instance is not held again.
	_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(kept), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	if i, _ := s.Instance(kept); i.State != "shutting-down" {
		t.Fatalf("retained instance after terminate: %s, want shutting-down", i.State)
	}
	if g, _ := s.Group("g"); g.Desired != 1 {
		t.Fatalf("desired %d after terminating a retained instance, want 1 (not decremented again)", g.Desired)
	}

	// Terminated by hand: EC2 takes it, no hold.
	aNoErr(t, s.TerminateExternally(byHand))
	if i, _ := s.Instance(byHand); i.State != "shutting-down" {
		t.Fatalf("terminated by hand: %s, want shutting-down", i.State)
	}
}

// A held termination times out with the hook's default result.
func TestTerminationHookTimeout(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	aWait(t, "in service", func() bool { return len(aInService(s, "g")) == 1 })
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{Timeout: time.Minute, RetainOnAbandon: true}))
	id := aInService(s, "g")[0].ID
	aNoErr(t, s.SetHealth(id, "Unhealthy")) // health replacement goes through the hook too
	aWait(t, "held", func() bool { i, _ := s.Instance(id); return i.Lifecycle == "Terminating:Wait" })
	s.Advance(2 * time.Minute)
	if i, _ := s.Instance(id); i.Lifecycle != "Terminating:Retained" || i.State != "running" {
		t.Fatalf("after the hook timeout: %s / %s, want Terminating:Retained / running", i.Lifecycle, i.State)
	}
	aWait(t, "replacement in service", func() bool { return len(aInService(s, "g")) == 1 && aInService(s, "g")[0].ID != id })
	if err := s.SetTerminationHook("g", &awssim.TerminationHook{DefaultResult: "MAYBE"}); err == nil {
		t.Fatal("bad default result accepted")
	}
	aNoErr(t, s.SetDesiredExternally("g", 0))
	if err := s.SetDesiredExternally("g", 99); err == nil {
		t.Fatal("desired above max accepted")
	}
}
