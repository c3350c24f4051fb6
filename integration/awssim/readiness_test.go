package awssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// statuses maps instance id → "instance/system" status of one call.
func statuses(t *testing.T, s *awssim.Sim, in *ec2.DescribeInstanceStatusInput) map[string]string {
	t.Helper()
	out, err := aEC2(s).DescribeInstanceStatus(aCtx(t), in)
	aNoErr(t, err)
	got := map[string]string{}
	for _, st := range out.InstanceStatuses {
		got[aws.ToString(st.InstanceId)] = string(st.InstanceStatus.Status) + "/" + string(st.SystemStatus.Status)
		if st.InstanceState == nil || aws.ToString(st.AvailabilityZone) == "" {
			t.Errorf("%s: no state or zone", aws.ToString(st.InstanceId))
		}
	}
	return got
}

// Status checks read initializing from running until StatusCheckDelay,
// then ok, over the SDK's own deserializer; only running instances unless
// IncludeAllInstances; unknown ids fail by InstanceIds, not by filter.
func TestDescribeInstanceStatusPassesAfterTheDelay(t *testing.T) {
	s := newASim(t, awssim.Options{Speed: 1, BootDelay: 40 * time.Second, StatusCheckDelay: time.Minute})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 3, Desired: 1}))
	s.Advance(10 * time.Second) // pending (EC2 running at 30 s)
	if got := statuses(t, s, &ec2.DescribeInstanceStatusInput{}); len(got) != 0 {
		t.Fatalf("pending instance listed without IncludeAllInstances: %v", got)
	}
	all := statuses(t, s, &ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true)})
	if len(all) != 1 {
		t.Fatalf("IncludeAllInstances: %v", all)
	}
	var id string
	for k, v := range all {
		id = k
		if v != "not-applicable/not-applicable" {
			t.Errorf("pending instance status %s", v)
		}
	}
	s.Advance(30 * time.Second) // running for 10 s
	if got := statuses(t, s, &ec2.DescribeInstanceStatusInput{}); got[id] != "initializing/initializing" {
		t.Fatalf("just running: %v", got)
	}
	okFilter := []ec2types.Filter{{Name: aws.String("instance-status.status"), Values: []string{"ok"}}}
	if got := statuses(t, s, &ec2.DescribeInstanceStatusInput{Filters: okFilter}); len(got) != 0 {
		t.Fatalf("ok filter before the checks pass: %v", got)
	}
	s.Advance(55 * time.Second)
	if got := statuses(t, s, &ec2.DescribeInstanceStatusInput{Filters: okFilter}); got[id] != "ok/ok" {
		t.Fatalf("a minute after running: %v", got)
	}
	out, err := aEC2(s).DescribeInstanceStatus(aCtx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}})
	aNoErr(t, err)
	if d := out.InstanceStatuses[0].InstanceStatus.Details; len(d) != 1 || d[0].Name != "reachability" || d[0].Status != "passed" {
		t.Errorf("details %+v", d)
	}
	unknown := "i-0123456789abcdef0"
	_, err = aEC2(s).DescribeInstanceStatus(aCtx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id, unknown}})
	aAPIError(t, err, "InvalidInstanceID.NotFound", unknown)
	byFilter := statuses(t, s, &ec2.DescribeInstanceStatusInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{id, unknown}}}})
	if len(byFilter) != 1 || byFilter[id] != "ok/ok" {
		t.Fatalf("instance-id filter with an unknown id: %v", byFilter)
	}

	// The control API changes the delay for running instances too.
	aControl(t, s, "POST", "/_sim/status-checks", map[string]string{"delay": "1h"}, 200, nil)
	if got := statuses(t, s, &ec2.DescribeInstanceStatusInput{}); got[id] != "initializing/initializing" {
		t.Fatalf("after raising the delay: %v", got)
	}
}

// A launch hook holds new instances in Pending:Wait through boot until
// CompleteLifecycleAction (CONTINUE: InService; ABANDON: terminated and
// replaced), the heartbeat timeout applies the default result, and the
// simulated instance completes its hooks itself UserDataDelay after it
// runs.
func TestLaunchLifecycleHookHoldsInstancesUntilCompleted(t *testing.T) {
	s := newASim(t, awssim.Options{Speed: 1, BootDelay: 40 * time.Second, UserDataDelay: -1})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 3}))
	asg, ctx := aASG(s), aCtx(t)
	name := aws.String("g")

	_, err := asg.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: name, LifecycleHookName: aws.String("ready")})
	aAPIError(t, err, "ValidationError", "lifecycle transition must be specified")
	_, err = asg.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: name, LifecycleHookName: aws.String("ready"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(300)})
	aNoErr(t, err)
	hooks, err := asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: name})
	aNoErr(t, err)
	if len(hooks.LifecycleHooks) != 1 {
		t.Fatalf("hooks: %+v", hooks.LifecycleHooks)
	}
	h := hooks.LifecycleHooks[0]
	if aws.ToString(h.DefaultResult) != "ABANDON" || aws.ToInt32(h.HeartbeatTimeout) != 300 || aws.ToInt32(h.GlobalTimeout) != 30000 ||
		aws.ToString(h.LifecycleTransition) != "autoscaling:EC2_INSTANCE_LAUNCHING" || aws.ToString(h.AutoScalingGroupName) != "g" {
		t.Fatalf("hook as described: %+v", h)
	}

	_, err = asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(1)})
	aNoErr(t, err)
	s.Advance(2 * time.Minute) // booted long ago: only the hook holds it
	insts := s.Instances()
	if len(insts) != 1 || insts[0].Lifecycle != "Pending:Wait" || insts[0].State != "running" {
		t.Fatalf("with a launch hook after boot: %+v", insts)
	}
	first := insts[0].ID
	_, err = asg.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: name, LifecycleHookName: aws.String("ready"),
		InstanceId: aws.String("i-0123456789abcdef0"), LifecycleActionResult: aws.String("CONTINUE")})
	aAPIError(t, err, "ValidationError", "No active Lifecycle Action found")
	_, err = asg.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: name, LifecycleHookName: aws.String("ready"), InstanceId: aws.String(first)})
	aNoErr(t, err)
	_, err = asg.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: name, LifecycleHookName: aws.String("ready"),
		InstanceId: aws.String(first), LifecycleActionResult: aws.String("CONTINUE")})
	aNoErr(t, err)
	s.Advance(time.Second)
	if i, _ := s.Instance(first); i.Lifecycle != "InService" {
		t.Fatalf("after CONTINUE: %s", i.Lifecycle)
	}

	// No completion: the heartbeat timeout abandons it; the group replaces it.
	_, err = asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(2)})
	aNoErr(t, err)
	s.Advance(time.Second)
	var second string
	for _, i := range s.Instances() {
		if i.ID != first {
			second = i.ID
		}
	}
	s.Advance(4 * time.Minute)
	if i, _ := s.Instance(second); i.Lifecycle != "Pending:Wait" {
		t.Fatalf("before the heartbeat timeout: %s", i.Lifecycle)
	}
	s.Advance(time.Minute + 2*time.Second)
	if i, _ := s.Instance(second); i.State != "shutting-down" && i.State != "terminated" {
		t.Fatalf("after the heartbeat timeout with default ABANDON: %s/%s", i.Lifecycle, i.State)
	}

	// The instance's own user data completes the hook once it has run.
	s.SetUserDataDelay(20 * time.Second)
	var third string
	aWait(t, "a replacement", func() bool {
		for _, i := range s.Instances() {
			if i.ID != first && i.ID != second {
				third = i.ID
				return true
			}
		}
		return false
	})
	s.Advance(45 * time.Second) // running at 30 s, user data done at 50 s
	if i, _ := s.Instance(third); i.Lifecycle != "Pending:Wait" {
		t.Fatalf("user data still running: %s", i.Lifecycle)
	}
	s.Advance(10 * time.Second)
	if i, _ := s.Instance(third); i.Lifecycle != "InService" {
		t.Fatalf("after its user data completed the hook: %s", i.Lifecycle)
	}
	var listed []awssim.LifecycleHook
	aControl(t, s, "GET", "/_sim/lifecycle-hooks?group=g", nil, 200, &listed)
	if len(listed) != 1 || listed[0].Name != "ready" {
		t.Errorf("control API hooks: %+v", listed)
	}
}
