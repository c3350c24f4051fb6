package awssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// A termination hook put through the API holds the group's terminations
// like one put through the control API (one model): CompleteLifecycleAction
// CONTINUE terminates, ABANDON with the group's InstanceLifecyclePolicy
// retains, a heartbeat restarts the timeout, and deleting the hook
// continues what it holds.
func TestTerminationHookThroughTheAPI(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 4}))
	aWait(t, "4 in service", func() bool { return len(aInService(s, "g")) == 4 })
	var ids []string
	for _, inst := range aInService(s, "g") {
		ids = append(ids, inst.ID)
	}
	_, err := c.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("g"), LifecycleHookName: aws.String("drain"),
		LifecycleTransition: aws.String(awssim.TransitionTerminating), HeartbeatTimeout: aws.Int32(600), DefaultResult: aws.String("CONTINUE"),
	})
	aNoErr(t, err)
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"),
		InstanceLifecyclePolicy: &types.InstanceLifecyclePolicy{RetentionTriggers: &types.RetentionTriggers{TerminateHookAbandon: types.RetentionActionRetain}}})
	aNoErr(t, err)
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"g"}})
	aNoErr(t, err)
	if p := out.AutoScalingGroups[0].InstanceLifecyclePolicy; p == nil || p.RetentionTriggers == nil || p.RetentionTriggers.TerminateHookAbandon != types.RetentionActionRetain {
		t.Fatalf("InstanceLifecyclePolicy not described: %+v", p)
	}

	terminate := func(id string) {
		t.Helper()
		_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
		aNoErr(t, err)
		if inst, _ := s.Instance(id); inst.Lifecycle != "Terminating:Wait" || inst.State != "running" {
			t.Fatalf("%s held: %s/%s, want Terminating:Wait/running", id, inst.Lifecycle, inst.State)
		}
	}
	complete := func(id, result string) {
		t.Helper()
		_, err := c.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("g"),
			LifecycleHookName: aws.String("drain"), InstanceId: aws.String(id), LifecycleActionResult: aws.String(result)})
		aNoErr(t, err)
	}
	for _, id := range ids[:4] {
		terminate(id)
	}
	complete(ids[0], "CONTINUE")
	complete(ids[1], "ABANDON")
	if inst, _ := s.Instance(ids[0]); inst.State != "shutting-down" {
		t.Fatalf("continued: %s/%s, want shutting-down", inst.Lifecycle, inst.State)
	}
	if inst, _ := s.Instance(ids[1]); inst.Lifecycle != "Terminating:Retained" || inst.State != "running" {
		t.Fatalf("abandoned: %s/%s, want Terminating:Retained/running", inst.Lifecycle, inst.State)
	}
	_, err = c.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("g"),
		LifecycleHookName: aws.String("drain"), InstanceId: aws.String(ids[1]), LifecycleActionResult: aws.String("CONTINUE")})
	aAPIError(t, err, "ValidationError", "No active Lifecycle Action found with instance ID "+ids[1])

	// A heartbeat at 8 minutes carries the 10-minute timeout past 10 minutes.
	s.Advance(8 * time.Minute)
	_, err = c.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("g"),
		LifecycleHookName: aws.String("drain"), InstanceId: aws.String(ids[2])})
	aNoErr(t, err)
	s.Advance(4 * time.Minute)
	if inst, _ := s.Instance(ids[2]); inst.Lifecycle != "Terminating:Wait" {
		t.Fatalf("after a heartbeat: %s, want still held", inst.Lifecycle)
	}
	if inst, _ := s.Instance(ids[3]); inst.State == "running" {
		t.Fatalf("without a heartbeat the default CONTINUE applies at 10 minutes: %s/%s", inst.Lifecycle, inst.State)
	}
	// Deleting the hook continues what it holds (AWS's DeleteLifecycleHook).
	_, err = c.DeleteLifecycleHook(ctx, &autoscaling.DeleteLifecycleHookInput{AutoScalingGroupName: aws.String("g"), LifecycleHookName: aws.String("drain")})
	aNoErr(t, err)
	if inst, _ := s.Instance(ids[2]); inst.State == "running" {
		t.Fatalf("after the hook is deleted: %s/%s, want terminating", inst.Lifecycle, inst.State)
	}

	// The control API's hook is the same kind of hook: described, and
	// completed through the API.
	aNoErr(t, s.SetTerminationHook("g", &awssim.TerminationHook{HeartbeatTimeout: time.Hour}))
	hooks, err := c.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("g")})
	aNoErr(t, err)
	if len(hooks.LifecycleHooks) != 1 || aws.ToString(hooks.LifecycleHooks[0].LifecycleHookName) != awssim.ControlTerminationHook ||
		aws.ToInt32(hooks.LifecycleHooks[0].HeartbeatTimeout) != 3600 {
		t.Fatalf("control hook described as %+v", hooks.LifecycleHooks)
	}
	aNoErr(t, s.SetDesiredExternally("g", 1)) // the terminations above took desired to 0
	aWait(t, "a new instance in service", func() bool { return len(aInService(s, "g")) == 1 })
	id := aInService(s, "g")[0].ID
	terminate(id)
	_, err = c.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("g"),
		LifecycleHookName: aws.String(awssim.ControlTerminationHook), InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")})
	aNoErr(t, err)
	if inst, _ := s.Instance(id); inst.State != "shutting-down" {
		t.Fatalf("control hook completed through the API: %s/%s", inst.Lifecycle, inst.State)
	}
}
