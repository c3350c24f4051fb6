package awssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestTerminationHookHoldsAndRetains(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 3}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	ids := []string{}
	for _, inst := range aInService(s, "g") {
		ids = append(ids, inst.ID)
	}
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{RetainOnAbandon: true}))
	terminate := func(id string) {
		t.Helper()
		_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
		aNoErr(t, err)
	}
	terminate(ids[0])
	terminate(ids[1])
	for _, id := range ids[:2] {
		if inst, _ := s.Instance(id); inst.Lifecycle != "Terminating:Wait" || inst.State != "running" {
			t.Fatalf("held: %s/%s, want Terminating:Wait/running", inst.Lifecycle, inst.State)
		}
	}
	if g, _ := s.Group("g"); g.Desired != 1 {
		t.Fatalf("desired %d, want 1", g.Desired)
	}

	// Abandoned: retained, still running, not replaced.
	aNoErr(t, s.CompleteTermination(ids[0], "ABANDON"))
	// Continued: terminated.
	aNoErr(t, s.CompleteTermination(ids[1], "CONTINUE"))
	s.Advance(time.Minute)
	if inst, _ := s.Instance(ids[0]); inst.Lifecycle != "Terminating:Retained" || inst.State != "running" {
		t.Fatalf("abandoned: %s/%s, want Terminating:Retained/running", inst.Lifecycle, inst.State)
	}
	if inst, _ := s.Instance(ids[1]); inst.State != "terminated" {
		t.Fatalf("continued: %s/%s, want terminated", inst.Lifecycle, inst.State)
	}
	if got := aGroupInstances(s, "g"); got["InService"] != 1 || got["Pending"] != 0 {
		t.Fatalf("group %v: the retained instance must not be replaced", got)
	}

	// The retained instance ends with a terminate, without a new hold and
	// without a second decrement.
	terminate(ids[0])
	if inst, _ := s.Instance(ids[0]); inst.State != "shutting-down" {
		t.Fatalf("retained after terminate: %s/%s", inst.Lifecycle, inst.State)
	}
	if g, _ := s.Group("g"); g.Desired != 1 {
		t.Fatalf("desired %d after terminating the retained instance, want 1", g.Desired)
	}

	// A heartbeat timeout applies the default result.
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{HeartbeatTimeout: time.Hour, DefaultResult: "ABANDON", RetainOnAbandon: true}))
	terminate(ids[2])
	s.Advance(59 * time.Minute)
	if inst, _ := s.Instance(ids[2]); inst.Lifecycle != "Terminating:Wait" {
		t.Fatalf("before the timeout: %s", inst.Lifecycle)
	}
	s.Advance(2 * time.Minute)
	if inst, _ := s.Instance(ids[2]); inst.Lifecycle != "Terminating:Retained" || inst.State != "running" {
		t.Fatalf("after the timeout: %s/%s", inst.Lifecycle, inst.State)
	}
	if err := s.CompleteTermination(ids[2], "CONTINUE"); err == nil {
		t.Fatal("completing a retained instance's action must fail")
	}
}

func TestTerminateBatchFormSwitch(t *testing.T) {
	for _, mode := range []string{awssim.TerminateBatchValidationError, awssim.TerminateBatchServerError} {
		t.Run(mode, func(t *testing.T) {
			s := newASim(t, awssim.Options{TerminateBatch: mode})
			c, ctx := aASG(s), aCtx(t)
			aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 2}))
			aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })
			insts := aInService(s, "g")
			_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				AutoScalingGroupName: aws.String("g"), InstanceIds: []string{insts[0].ID}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			if mode == awssim.TerminateBatchValidationError {
				aAPIError(t, err, "ValidationError", "Value null at 'instanceId'")
			} else {
				aAPIError(t, err, "InternalFailure", "internal error")
			}
			if g, _ := s.Group("g"); g.Desired != 2 {
				t.Fatalf("rejected batch changed desired to %d", g.Desired)
			}
			_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId: aws.String(insts[0].ID), ShouldDecrementDesiredCapacity: aws.Bool(true)})
			aNoErr(t, err)
			if g, _ := s.Group("g"); g.Desired != 1 {
				t.Fatalf("single form: desired %d, want 1", g.Desired)
			}
			aNoErr(t, s.SetTerminateBatch(""))
			_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				AutoScalingGroupName: aws.String("g"), InstanceIds: []string{insts[1].ID}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			aNoErr(t, err)
		})
	}
}

func TestTerminationHookOverHTTP(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 1}))
	aWait(t, "1 in service", func() bool { return len(aInService(s, "g")) == 1 })
	id := aInService(s, "g")[0].ID
	aControl(t, s, "POST", "/_sim/termination-hook", map[string]any{"group": "g", "heartbeat_timeout": "1h", "retain_on_abandon": true}, 200, nil)
	aControl(t, s, "POST", "/_sim/termination-hook", map[string]any{"group": "g", "default_result": "maybe"}, 400, nil)
	aControl(t, s, "POST", "/_sim/terminate-batch", map[string]any{"mode": "validation-error"}, 200, nil)
	aControl(t, s, "POST", "/_sim/terminate-batch", map[string]any{"mode": "sometimes"}, 400, nil)
	_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	aControl(t, s, "POST", "/_sim/complete-termination", map[string]any{"instance_id": id, "result": "ABANDON"}, 200, nil)
	if inst, _ := s.Instance(id); inst.Lifecycle != "Terminating:Retained" {
		t.Fatalf("after abandon over HTTP: %s", inst.Lifecycle)
	}
	aControl(t, s, "POST", "/_sim/termination-hook", map[string]any{"group": "g", "remove": true}, 200, nil)
}

// A held termination's heartbeat timeout applies the default result
// (ABANDON, as AWS's default): with retention the instance stays retained
// and the group replaces it. Health replacements go through the hook too.
// An operator's desired capacity obeys the size limits.
func TestTerminationHookTimeout(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	aWait(t, "in service", func() bool { return len(aInService(s, "g")) == 1 })
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{HeartbeatTimeout: time.Minute, RetainOnAbandon: true}))
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

// A launch terminated while still booting, held by a terminate hook and
// abandoned, is retained while EC2 still has it pending; a terminate ends it
// then too (it would otherwise boot and bill as Terminating:Retained).
func TestRetainedWhileBootingIsTerminated(t *testing.T) {
	s := newASim(t, awssim.Options{BootDelay: time.Hour})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 1}))
	var id string
	aWait(t, "1 launching", func() bool {
		for _, inst := range s.Instances() {
			if inst.Group == "g" {
				id = inst.ID
			}
		}
		return id != ""
	})
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{RetainOnAbandon: true}))
	terminate := func() {
		t.Helper()
		_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
		aNoErr(t, err)
	}
	terminate()
	aNoErr(t, s.CompleteTermination(id, "ABANDON"))
	if inst, _ := s.Instance(id); inst.Lifecycle != "Terminating:Retained" || inst.State != "pending" {
		t.Fatalf("abandoned while booting: %s/%s, want Terminating:Retained/pending", inst.Lifecycle, inst.State)
	}
	terminate()
	if inst, _ := s.Instance(id); inst.State != "shutting-down" {
		t.Fatalf("retained while booting, after terminate: %s/%s, want shutting-down", inst.Lifecycle, inst.State)
	}
}
