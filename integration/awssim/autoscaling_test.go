package awssim_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// aLaunchTemplate creates a launch template through the EC2 API.
func aLaunchTemplate(t *testing.T, s *awssim.Sim, name string) string {
	t.Helper()
	out, err := aEC2(s).CreateLaunchTemplate(aCtx(t), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	aNoErr(t, err)
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

func aMixedInput(name, ltID string, desired int32) *autoscaling.CreateAutoScalingGroupInput {
	return &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		MinSize:              aws.Int32(0),
		MaxSize:              aws.Int32(10),
		DesiredCapacity:      aws.Int32(desired),
		VPCZoneIdentifier:    aws.String("subnet-00000000000000001,subnet-00000000000000002,subnet-00000000000000003"),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
			LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltID), Version: aws.String("$Latest")},
				Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.micro")}, {InstanceType: aws.String("t3a.micro")}},
			},
			InstancesDistribution: &astypes.InstancesDistribution{
				OnDemandBaseCapacity:                aws.Int32(1),
				OnDemandPercentageAboveBaseCapacity: aws.Int32(0),
				SpotAllocationStrategy:              aws.String("price-capacity-optimized"),
			},
		},
		NewInstancesProtectedFromScaleIn: aws.Bool(true),
		CapacityRebalance:                aws.Bool(true),
		Tags: []astypes.Tag{
			{Key: aws.String("team"), Value: aws.String("ci"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost"), Value: aws.String("42"), PropagateAtLaunch: aws.Bool(false)},
		},
	}
}

func aDescribeGroup(t *testing.T, c *autoscaling.Client, name string) astypes.AutoScalingGroup {
	t.Helper()
	out, err := c.DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	aNoErr(t, err)
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("want group %s, got %d groups", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

func TestAutoScalingCreateAndDescribe(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	lt := aLaunchTemplate(t, s, "tmpl")

	_, err := c.CreateAutoScalingGroup(ctx, aMixedInput("mixed", lt, 3))
	aNoErr(t, err)
	_, err = c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("plain"), MinSize: aws.Int32(1), MaxSize: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("tmpl")},
		AvailabilityZones: []string{"us-east-1b"},
	})
	aNoErr(t, err)

	aWait(t, "mixed group in service", func() bool { return len(aInService(s, "mixed")) == 3 })
	g := aDescribeGroup(t, c, "mixed")
	if aws.ToInt32(g.DesiredCapacity) != 3 || aws.ToInt32(g.MaxSize) != 10 || !aws.ToBool(g.CapacityRebalance) || !aws.ToBool(g.NewInstancesProtectedFromScaleIn) {
		t.Fatalf("group fields: %+v", g)
	}
	if want := "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"; len(aws.ToString(g.AutoScalingGroupARN)) < len(want) || aws.ToString(g.AutoScalingGroupARN)[:len(want)] != want {
		t.Fatalf("ARN %s", aws.ToString(g.AutoScalingGroupARN))
	}
	d := g.MixedInstancesPolicy.InstancesDistribution
	if aws.ToInt32(d.OnDemandBaseCapacity) != 1 || aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != 0 || aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" {
		t.Fatalf("distribution %+v", d)
	}
	if len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 2 || len(g.AvailabilityZones) != 3 {
		t.Fatalf("overrides/azs: %+v %v", g.MixedInstancesPolicy.LaunchTemplate.Overrides, g.AvailabilityZones)
	}
	if len(g.Tags) != 2 || aws.ToString(g.Tags[1].Key) != "team" || !aws.ToBool(g.Tags[1].PropagateAtLaunch) ||
		aws.ToString(g.Tags[1].ResourceId) != "mixed" || aws.ToString(g.Tags[1].ResourceType) != "auto-scaling-group" {
		t.Fatalf("tags %+v", g.Tags)
	}
	markets := map[awssim.Market]int{}
	for _, gi := range g.Instances {
		if gi.LifecycleState != "InService" || aws.ToString(gi.HealthStatus) != "Healthy" || !aws.ToBool(gi.ProtectedFromScaleIn) ||
			aws.ToString(gi.WeightedCapacity) != "1" || aws.ToString(gi.LaunchTemplate.LaunchTemplateId) != lt || gi.AvailabilityZone == nil {
			t.Fatalf("instance %+v", gi)
		}
		inst, _ := s.Instance(aws.ToString(gi.InstanceId))
		markets[inst.Market]++
		if inst.Tags["team"] != "ci" || inst.Tags["cost"] != "" {
			t.Fatalf("propagated tags %v", inst.Tags)
		}
	}
	if markets[awssim.OnDemand] != 1 || markets[awssim.Spot] != 2 {
		t.Fatalf("want 1 on-demand base + 2 spot, got %v", markets)
	}

	p := aDescribeGroup(t, c, "plain")
	if aws.ToString(p.LaunchTemplate.LaunchTemplateName) != "tmpl" || aws.ToInt32(p.DesiredCapacity) != 1 || p.AvailabilityZones[0] != "us-east-1b" {
		t.Fatalf("plain group %+v", p)
	}

	// IncludeInstances=false leaves instances out.
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"mixed"}, IncludeInstances: aws.Bool(false)})
	aNoErr(t, err)
	if len(out.AutoScalingGroups[0].Instances) != 0 {
		t.Fatalf("IncludeInstances=false returned instances")
	}
	// Unknown names are simply absent.
	out, err = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"nope"}})
	aNoErr(t, err)
	if len(out.AutoScalingGroups) != 0 {
		t.Fatalf("unknown group described")
	}
}

func TestAutoScalingCreateErrors(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	lt := aLaunchTemplate(t, s, "tmpl")
	_, err := c.CreateAutoScalingGroup(ctx, aMixedInput("g", lt, 0))
	aNoErr(t, err)

	base := func(mod func(in *autoscaling.CreateAutoScalingGroupInput)) *autoscaling.CreateAutoScalingGroupInput {
		in := aMixedInput("other", lt, 0)
		mod(in)
		return in
	}
	for _, tc := range []struct {
		name, code, msg string
		in              *autoscaling.CreateAutoScalingGroupInput
	}{
		{"exists", "AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name g already exists",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = aws.String("g") })},
		{"missing template", "ValidationError", "The specified launch template, with template ID lt-0123456789abcdef0, does not exist.",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) {
				in.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId = aws.String("lt-0123456789abcdef0")
			})},
		{"no template", "ValidationError", "Valid requests must contain either LaunchTemplate",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MixedInstancesPolicy = nil })},
		{"min above max", "ValidationError", "Max bound, 1, must be greater than or equal to min bound, 2",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize, in.MaxSize = aws.Int32(2), aws.Int32(1) })},
		{"desired above max", "ValidationError", "Desired capacity:11 must be between the specified min size:0 and max size:10",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(11) })},
		{"no zones", "ValidationError", "At least one Availability Zone or VPC Subnet is required.",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.VPCZoneIdentifier = nil })},
		{"bad subnet", "ValidationError", "The subnet ID 'subnet-nope' does not exist",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) { in.VPCZoneIdentifier = aws.String("subnet-nope") })},
		{"bad percentage", "ValidationError", "OnDemandPercentageAboveBaseCapacity must be between 0 and 100.",
			base(func(in *autoscaling.CreateAutoScalingGroupInput) {
				in.MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity = aws.Int32(101)
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateAutoScalingGroup(ctx, tc.in)
			aAPIError(t, err, tc.code, tc.msg)
		})
	}
}

func TestAutoScalingUpdate(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	lt := aLaunchTemplate(t, s, "tmpl")
	_, err := c.CreateAutoScalingGroup(ctx, aMixedInput("g", lt, 4))
	aNoErr(t, err)

	// Partial MixedInstancesPolicy update: only the percentage.
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("g"),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{InstancesDistribution: &astypes.InstancesDistribution{OnDemandPercentageAboveBaseCapacity: aws.Int32(50)}},
	})
	aNoErr(t, err)
	g := aDescribeGroup(t, c, "g")
	d := g.MixedInstancesPolicy.InstancesDistribution
	if aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != 50 || aws.ToInt32(d.OnDemandBaseCapacity) != 1 ||
		aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" || len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 2 {
		t.Fatalf("partial update lost fields: %+v", d)
	}

	// A lower MaxSize alone pulls desired down with it.
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"), MaxSize: aws.Int32(2), CapacityRebalance: aws.Bool(false)})
	aNoErr(t, err)
	g = aDescribeGroup(t, c, "g")
	if aws.ToInt32(g.MaxSize) != 2 || aws.ToInt32(g.DesiredCapacity) != 2 || aws.ToBool(g.CapacityRebalance) {
		t.Fatalf("after max update: max %d desired %d", aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity))
	}

	for _, tc := range []struct {
		name, code, msg string
		in              *autoscaling.UpdateAutoScalingGroupInput
	}{
		{"unknown", "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup 'nope' not found",
			&autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope"), MaxSize: aws.Int32(3)}},
		{"desired above max", "ValidationError", "Desired capacity:5 must be between the specified min size:0 and max size:2",
			&autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(5)}},
		{"bad strategy", "ValidationError", "Valid values for SpotAllocationStrategy",
			&autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"), MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
				InstancesDistribution: &astypes.InstancesDistribution{SpotAllocationStrategy: aws.String("cheapest")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.UpdateAutoScalingGroup(ctx, tc.in)
			aAPIError(t, err, tc.code, tc.msg)
		})
	}
}

func TestAutoScalingSetDesiredCapacity(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MinSize: 1, MaxSize: 3, Desired: 1}))
	for _, tc := range []struct {
		name      string
		group     string
		n         int32
		code, msg string
	}{
		{"ok", "g", 3, "", ""},
		{"above max", "g", 4, "ValidationError", "New SetDesiredCapacity value 4 is above max value 3"},
		{"below min", "g", 0, "ValidationError", "New SetDesiredCapacity value 0 is below min value 1"},
		{"unknown group", "nope", 1, "ValidationError", "AutoScalingGroup name not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(tc.group), DesiredCapacity: aws.Int32(tc.n), HonorCooldown: aws.Bool(false)})
			if tc.code == "" {
				aNoErr(t, err)
				return
			}
			aAPIError(t, err, tc.code, tc.msg)
		})
	}
	if g, _ := s.Group("g"); g.Desired != 3 {
		t.Fatalf("desired %d", g.Desired)
	}
}

func TestAutoScalingTerminateInstance(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MinSize: 1, MaxSize: 5, Desired: 3}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	ids := []string{}
	for _, inst := range aInService(s, "g") {
		ids = append(ids, inst.ID)
	}

	out, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[0]), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	a := out.Activity
	if a == nil || aws.ToString(a.Description) != "Terminating EC2 instance: "+ids[0] || a.StatusCode != astypes.ScalingActivityStatusCodeInProgress ||
		aws.ToString(a.AutoScalingGroupName) != "g" {
		t.Fatalf("activity %+v", a)
	}
	if g, _ := s.Group("g"); g.Desired != 2 {
		t.Fatalf("desired not decremented: %d", g.Desired)
	}
	inst, _ := s.Instance(ids[0])
	if inst.Lifecycle != "Terminating" || inst.State != "shutting-down" {
		t.Fatalf("after terminate: %s/%s", inst.Lifecycle, inst.State)
	}
	// Again while terminating: the same activity, success.
	again, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[0]), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aNoErr(t, err)
	if aws.ToString(again.Activity.ActivityId) != aws.ToString(a.ActivityId) {
		t.Fatalf("want the existing activity")
	}
	if g, _ := s.Group("g"); g.Desired != 2 {
		t.Fatalf("second terminate decremented again: %d", g.Desired)
	}

	// Without decrement the group replaces the instance.
	_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[1]), ShouldDecrementDesiredCapacity: aws.Bool(false)})
	aNoErr(t, err)
	aWait(t, "replacement", func() bool {
		in := aInService(s, "g")
		return len(in) == 2 && in[0].ID != ids[1] && in[1].ID != ids[1]
	})

	// Below min size.
	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(1)})
	aNoErr(t, err)
	_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[2]), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aAPIError(t, err, "ValidationError", "Currently, desiredSize equals minSize (1). Terminating instance without replacement will violate group's min size constraint.")

	for _, id := range []string{"i-0123456789abcdef0", ids[0] + "x"} {
		_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
		aAPIError(t, err, "ValidationError", "Instance Id not found - No managed instance found for instance ID: "+id)
	}
	// Once gone from the group, the instance is unknown to Auto Scaling.
	aWait(t, "terminated", func() bool { i, _ := s.Instance(ids[0]); return i.State == "terminated" })
	_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[0]), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	aAPIError(t, err, "ValidationError", "Instance Id not found")
}

func TestAutoScalingProtectionAndProcesses(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 2}))
	aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })
	id := aInService(s, "g")[0].ID

	_, err := c.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}, ProtectedFromScaleIn: aws.Bool(false)})
	aNoErr(t, err)
	if inst, _ := s.Instance(id); inst.ProtectedFromScaleIn {
		t.Fatal("protection not removed")
	}
	_, err = c.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{"i-0000000000000000a"}, ProtectedFromScaleIn: aws.Bool(true)})
	aAPIError(t, err, "ValidationError", "The instance i-0000000000000000a is not part of Auto Scaling group g.")

	g := aDescribeGroup(t, c, "g")
	if len(g.SuspendedProcesses) != 1 || aws.ToString(g.SuspendedProcesses[0].ProcessName) != "AZRebalance" {
		t.Fatalf("CreateGroup should suspend AZRebalance: %+v", g.SuspendedProcesses)
	}
	_, err = c.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("g"), ScalingProcesses: []string{"Launch", "ReplaceUnhealthy"}})
	aNoErr(t, err)
	if g := aDescribeGroup(t, c, "g"); len(g.SuspendedProcesses) != 3 {
		t.Fatalf("want 3 suspended, got %+v", g.SuspendedProcesses)
	}
	_, err = c.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("g"), ScalingProcesses: []string{"Nap"}})
	aAPIError(t, err, "ValidationError", "Process type(s) Nap is/are not valid")
	_, err = c.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String("g")})
	aNoErr(t, err)
	if g := aDescribeGroup(t, c, "g"); len(g.SuspendedProcesses) != 0 {
		t.Fatalf("resume all left %+v", g.SuspendedProcesses)
	}
	_, err = c.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("g")})
	aNoErr(t, err)
	if g := aDescribeGroup(t, c, "g"); len(g.SuspendedProcesses) != 9 {
		t.Fatalf("suspend all: %d", len(g.SuspendedProcesses))
	}
}

func TestAutoScalingDescribePagination(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	for i := range 7 {
		tags := map[string]string{"env": "prod"}
		if i%2 == 1 {
			tags = map[string]string{"env": "dev", "owner": "me"}
		}
		aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: fmt.Sprintf("g%d", i), Tags: tags}))
	}
	var names []string
	pages := 0
	pg := autoscaling.NewDescribeAutoScalingGroupsPaginator(c, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(3)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		aNoErr(t, err)
		pages++
		for _, g := range out.AutoScalingGroups {
			names = append(names, aws.ToString(g.AutoScalingGroupName))
		}
	}
	if pages != 3 || len(names) != 7 || !sort.StringsAreSorted(names) {
		t.Fatalf("pages %d names %v", pages, names)
	}

	for _, tc := range []struct {
		name    string
		filters []astypes.Filter
		want    int
	}{
		{"tag:env=prod", []astypes.Filter{{Name: aws.String("tag:env"), Values: []string{"prod"}}}, 4},
		{"tag-key owner", []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"owner"}}}, 3},
		{"tag-value dev or prod", []astypes.Filter{{Name: aws.String("tag-value"), Values: []string{"dev", "prod"}}}, 7},
		{"and", []astypes.Filter{{Name: aws.String("tag:env"), Values: []string{"prod"}}, {Name: aws.String("tag-key"), Values: []string{"owner"}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: tc.filters})
			aNoErr(t, err)
			if len(out.AutoScalingGroups) != tc.want {
				t.Fatalf("want %d groups, got %d", tc.want, len(out.AutoScalingGroups))
			}
		})
	}
	_, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(101)})
	aAPIError(t, err, "ValidationError", "Member must have value less than or equal to 100")
	_, err = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("!!")})
	aAPIError(t, err, "ValidationError", "is invalid")
}

func TestAutoScalingActivitiesAndPolicies(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 10, Desired: 5}))
	aWait(t, "5 in service", func() bool { return len(aInService(s, "g")) == 5 })

	var acts []astypes.Activity
	pg := autoscaling.NewDescribeScalingActivitiesPaginator(c, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("g"), MaxRecords: aws.Int32(2)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		aNoErr(t, err)
		acts = append(acts, out.Activities...)
	}
	if len(acts) != 5 {
		t.Fatalf("want 5 launch activities, got %d", len(acts))
	}
	for i, a := range acts {
		if a.StatusCode != astypes.ScalingActivityStatusCodeSuccessful || aws.ToInt32(a.Progress) != 100 || a.EndTime == nil ||
			len(aws.ToString(a.Description)) < len("Launching a new EC2 instance: i-") {
			t.Fatalf("activity %+v", a)
		}
		if i > 0 && a.StartTime.After(*acts[i-1].StartTime) {
			t.Fatal("activities not newest first")
		}
	}
	one, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{ActivityIds: []string{aws.ToString(acts[3].ActivityId)}})
	aNoErr(t, err)
	if len(one.Activities) != 1 || aws.ToString(one.Activities[0].ActivityId) != aws.ToString(acts[3].ActivityId) {
		t.Fatalf("ActivityIds filter: %+v", one.Activities)
	}

	pol, err := c.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("g"), PolicyName: aws.String("up"),
		AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1)})
	aNoErr(t, err)
	pols, err := c.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("g")})
	aNoErr(t, err)
	if len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyARN) != aws.ToString(pol.PolicyARN) ||
		aws.ToString(pols.ScalingPolicies[0].PolicyType) != "SimpleScaling" || aws.ToInt32(pols.ScalingPolicies[0].ScalingAdjustment) != 1 {
		t.Fatalf("policies %+v", pols.ScalingPolicies)
	}
	_, err = c.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("g"), PolicyName: aws.String("up")})
	aNoErr(t, err)
	pols, err = c.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{})
	aNoErr(t, err)
	if len(pols.ScalingPolicies) != 0 {
		t.Fatalf("policy not deleted")
	}
}

func TestAutoScalingDelete(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, Desired: 2}))
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "empty"}))
	aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })

	_, err := c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("g")})
	aAPIError(t, err, "ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances")
	_, err = c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope")})
	aAPIError(t, err, "ValidationError", "AutoScalingGroup name not found")
	_, err = c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("empty")})
	aNoErr(t, err)

	_, err = c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"), ForceDelete: aws.Bool(true)})
	aNoErr(t, err)
	g := aDescribeGroup(t, c, "g")
	if aws.ToString(g.Status) != "Delete in progress" {
		t.Fatalf("status %q", aws.ToString(g.Status))
	}
	aWait(t, "group gone", func() bool { _, ok := s.Group("g"); return !ok })
	for _, inst := range s.Instances() {
		if inst.State != "terminated" {
			t.Fatalf("instance %s left %s", inst.ID, inst.State)
		}
	}
}

func TestAutoScalingLaunchInstances(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 20, InstanceTypes: []string{"t3.micro", "t3a.micro"}}))

	in := &autoscaling.LaunchInstancesInput{AutoScalingGroupName: aws.String("g"), ClientToken: aws.String("tok-1"), RequestedCapacity: aws.Int32(3), AvailabilityZones: []string{"us-east-1a"}}
	out, err := c.LaunchInstances(ctx, in)
	aNoErr(t, err)
	n := 0
	for _, col := range out.Instances {
		if aws.ToString(col.AvailabilityZone) != "us-east-1a" || aws.ToString(col.MarketType) != "spot" || aws.ToString(col.AvailabilityZoneId) != "use1-az1" {
			t.Fatalf("collection %+v", col)
		}
		n += len(col.InstanceIds)
	}
	if n != 3 || len(out.Errors) != 0 {
		t.Fatalf("launched %d, errors %+v", n, out.Errors)
	}
	if g, _ := s.Group("g"); g.Desired != 3 {
		t.Fatalf("desired %d", g.Desired)
	}
	again, err := c.LaunchInstances(ctx, in)
	aNoErr(t, err)
	if len(again.Instances) != len(out.Instances) || again.Instances[0].InstanceIds[0] != out.Instances[0].InstanceIds[0] {
		t.Fatal("ClientToken not idempotent")
	}

	// No spot capacity in us-east-1b: errors per the request, nothing launched.
	s.SetPoolCapacity("t3.micro", "us-east-1b", awssim.Spot, 0)
	s.SetPoolCapacity("t3a.micro", "us-east-1b", awssim.Spot, 1)
	out, err = c.LaunchInstances(ctx, &autoscaling.LaunchInstancesInput{AutoScalingGroupName: aws.String("g"), ClientToken: aws.String("tok-2"), RequestedCapacity: aws.Int32(2), AvailabilityZones: []string{"us-east-1b"}})
	aNoErr(t, err)
	if len(out.Instances) != 1 || len(out.Instances[0].InstanceIds) != 1 || aws.ToString(out.Instances[0].InstanceType) != "t3a.micro" {
		t.Fatalf("instances %+v", out.Instances)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorCode) != "InsufficientInstanceCapacity" ||
		aws.ToString(out.Errors[0].ErrorMessage) != "There is no Spot capacity available that matches your request." {
		t.Fatalf("errors %+v", out.Errors)
	}
	if g, _ := s.Group("g"); g.Desired != 4 {
		t.Fatalf("desired %d after partial launch", g.Desired)
	}

	_, err = c.LaunchInstances(ctx, &autoscaling.LaunchInstancesInput{AutoScalingGroupName: aws.String("g"), ClientToken: aws.String("tok-3"), RequestedCapacity: aws.Int32(1)})
	aAPIError(t, err, "ValidationError", "An Availability Zone or subnet is required")
	_, err = c.LaunchInstances(ctx, &autoscaling.LaunchInstancesInput{AutoScalingGroupName: aws.String("g"), ClientToken: aws.String("tok-4"), RequestedCapacity: aws.Int32(101), AvailabilityZones: []string{"us-east-1a"}})
	aAPIError(t, err, "ValidationError", "requestedCapacity")
}
