package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestAutoScalingOperatorActions(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 6, Desired: 3}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	in := aInService(s, "g")
	standby, sick, leaver := in[0].ID, in[1].ID, in[2].ID

	var seen []string
	pg := autoscaling.NewDescribeAutoScalingInstancesPaginator(c, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(2)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		aNoErr(t, err)
		for _, d := range out.AutoScalingInstances {
			if aws.ToString(d.HealthStatus) != "HEALTHY" || aws.ToString(d.AutoScalingGroupName) != "g" || aws.ToString(d.LifecycleState) != "InService" {
				t.Fatalf("details %+v", d)
			}
			seen = append(seen, aws.ToString(d.InstanceId))
		}
	}
	if len(seen) != 3 {
		t.Fatalf("described %v", seen)
	}

	// Standby without decrement: the group launches a replacement.
	_, err := c.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{standby}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
	aNoErr(t, err)
	aWait(t, "replacement for standby", func() bool { return len(aInService(s, "g")) == 3 && aGroupInstances(s, "g")["Standby"] == 1 })
	_, err = c.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{standby}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
	aAPIError(t, err, "ValidationError", "is not in InService")
	_, err = c.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{standby}})
	aNoErr(t, err)
	if g, _ := s.Group("g"); g.Desired != 4 {
		t.Fatalf("ExitStandby desired %d", g.Desired)
	}
	aWait(t, "back in service", func() bool { i, _ := s.Instance(standby); return i.Lifecycle == "InService" })

	_, err = c.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(sick), HealthStatus: aws.String("Unhealthy")})
	aNoErr(t, err)
	aWait(t, "unhealthy replaced", func() bool { i, _ := s.Instance(sick); return i.State == "terminated" && len(aInService(s, "g")) == 4 })

	out, err := c.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{leaver}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	if len(out.Activities) != 1 || aws.ToString(out.Activities[0].Description) != "Detaching EC2 instance: "+leaver {
		t.Fatalf("activities %+v", out.Activities)
	}
	aWait(t, "detached", func() bool { i, _ := s.Instance(leaver); return i.Lifecycle == "Detached" })
	if g, _ := s.Group("g"); g.Desired != 3 || len(aInService(s, "g")) != 3 {
		t.Fatalf("after detach: desired %d, in service %d", g.Desired, len(aInService(s, "g")))
	}
	if i, _ := s.Instance(leaver); i.State != "running" {
		t.Fatalf("detached instance %s", i.State)
	}
	_, err = c.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(leaver), HealthStatus: aws.String("Healthy")})
	aAPIError(t, err, "ValidationError", "Instance Id not found")
}

func TestAutoScalingTerminateBatch(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 6, Desired: 3}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	in := aInService(s, "g")
	out, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("g"), InstanceIds: []string{in[0].ID, in[1].ID}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	if len(out.Activities) != 2 || out.Activity != nil {
		t.Fatalf("batch: %d activities, single %v", len(out.Activities), out.Activity)
	}
	if g, _ := s.Group("g"); g.Desired != 1 {
		t.Fatalf("desired %d", g.Desired)
	}
	_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("other"), InstanceIds: []string{in[2].ID}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aAPIError(t, err, "ValidationError", "No managed instance found for instance ID: "+in[2].ID)
}
