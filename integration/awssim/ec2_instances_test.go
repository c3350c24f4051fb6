package awssim_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// runInstances launches n standalone instances and returns their ids.
//
//nolint:contextcheck // the calls' context derives from t (bCtx)
func runInstances(t *testing.T, c *bClients, in *ec2.RunInstancesInput) []string {
	t.Helper()
	out, err := c.ec2.RunInstances(bCtx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	return ids
}

func TestEC2RunDescribeTerminate(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	if _, err := c.sim.CreateKeyPair("runner"); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("runners"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("runner")},
	})
	if err != nil {
		t.Fatal(err)
	}

	spot := runInstances(t, c, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(3),
		LaunchTemplate:        &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
		InstanceMarketOptions: &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot},
		TagSpecifications:     []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("role"), Value: aws.String("ci")}}}},
	})
	onDemand := runInstances(t, c, &ec2.RunInstancesInput{
		MinCount: aws.Int32(9), MaxCount: aws.Int32(9), ImageId: aws.String(awssim.ImageLinuxARM64),
		InstanceType: types.InstanceTypeT4gMicro, SubnetId: aws.String("subnet-00000000000000002"),
	})
	if len(spot) != 3 || len(onDemand) != 9 {
		t.Fatalf("launched %d spot, %d on-demand", len(spot), len(onDemand))
	}

	t.Run("fields", func(t *testing.T) {
		out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{spot[0], onDemand[0]}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]types.Instance{}
		for _, r := range out.Reservations {
			for _, inst := range r.Instances {
				got[aws.ToString(inst.InstanceId)] = inst
			}
		}
		s, od := got[spot[0]], got[onDemand[0]]
		if s.InstanceLifecycle != types.InstanceLifecycleTypeSpot || !strings.HasPrefix(aws.ToString(s.SpotInstanceRequestId), "sir-") ||
			s.InstanceType != types.InstanceTypeT3Micro || aws.ToString(s.KeyName) != "runner" || aws.ToString(s.ImageId) != awssim.ImageLinuxAMD64 ||
			s.State.Name != types.InstanceStateNamePending || aws.ToInt32(s.State.Code) != 0 || len(s.Tags) != 1 || aws.ToString(s.Tags[0].Value) != "ci" ||
			!strings.HasPrefix(aws.ToString(s.PrivateIpAddress), "127.") || !strings.HasPrefix(aws.ToString(s.PublicIpAddress), "127.") ||
			s.Placement == nil || aws.ToString(s.Placement.AvailabilityZone) == "" || s.LaunchTime == nil || aws.ToString(s.VpcId) == "" ||
			s.Architecture != types.ArchitectureValuesX8664 || aws.ToString(s.PlatformDetails) != "Linux/UNIX" {
			t.Fatalf("spot instance %+v", s)
		}
		if od.InstanceLifecycle != "" || od.SpotInstanceRequestId != nil || aws.ToString(od.SubnetId) != "subnet-00000000000000002" ||
			aws.ToString(od.Placement.AvailabilityZone) != "us-east-1b" || od.Architecture != types.ArchitectureValuesArm64 {
			t.Fatalf("on-demand instance %+v", od)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			in   *ec2.DescribeInstancesInput
			code string
			msg  string
		}{
			{"unknown id", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist"},
			{"unknown ids", &ec2.DescribeInstancesInput{InstanceIds: []string{spot[0], "i-0123456789abcdef0", "i-12345678"}}, "InvalidInstanceID.NotFound", "The instance IDs 'i-0123456789abcdef0, i-12345678' do not exist"},
			{"malformed", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-xyz"}}, "InvalidInstanceID.Malformed", `Invalid id: "i-xyz"`},
			{"ids with max results", &ec2.DescribeInstancesInput{InstanceIds: []string{spot[0]}, MaxResults: aws.Int32(5)}, "InvalidParameterCombination", ""},
			{"max results too small", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue", ""},
			{"unknown filter", &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"red"}}}}, "InvalidParameterValue", "The filter 'colour' is invalid"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.ec2.DescribeInstances(ctx, tc.in)
				wantAPIError(t, err, tc.code, tc.msg)
			})
		}
	})

	t.Run("filters", func(t *testing.T) {
		f := func(name string, values ...string) types.Filter {
			return types.Filter{Name: aws.String(name), Values: values}
		}
		tests := []struct {
			name    string
			filters []types.Filter
			want    int
		}{
			{"tag", []types.Filter{f("tag:role", "ci")}, 3},
			{"tag wildcard", []types.Filter{f("tag:role", "c*")}, 3},
			{"tag-key", []types.Filter{f("tag-key", "role")}, 3},
			{"lifecycle spot", []types.Filter{f("instance-lifecycle", "spot")}, 3},
			{"state", []types.Filter{f("instance-state-name", "pending", "running")}, 12},
			{"state and type", []types.Filter{f("instance-state-name", "pending"), f("instance-type", "t4g.micro")}, 9},
			{"instance-id", []types.Filter{f("instance-id", spot[1], onDemand[1])}, 2},
			{"no match", []types.Filter{f("instance-state-name", "terminated")}, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tc.filters})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range out.Reservations {
					n += len(r.Instances)
				}
				if n != tc.want {
					t.Fatalf("%d instances, want %d", n, tc.want)
				}
			})
		}
	})

	t.Run("paginator", func(t *testing.T) {
		p := ec2.NewDescribeInstancesPaginator(c.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		var ids []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range out.Reservations {
				for _, inst := range r.Instances {
					ids = append(ids, aws.ToString(inst.InstanceId))
				}
			}
		}
		want := append(append([]string(nil), spot...), onDemand...)
		sort.Strings(want)
		if pages != 3 || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("%d pages: %v, want %v", pages, ids, want)
		}
	})

	t.Run("running waiter", func(t *testing.T) {
		c.sim.SetSpeed(200) // boot in ~0.1 s real
		w := ec2.NewInstanceRunningWaiter(c.ec2, func(o *ec2.InstanceRunningWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
		})
		if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: spot}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		c.sim.SetSpeed(1)
	})

	t.Run("terminate", func(t *testing.T) {
		out, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{spot[0]}})
		if err != nil {
			t.Fatal(err)
		}
		ch := out.TerminatingInstances[0]
		if ch.PreviousState.Name != types.InstanceStateNameRunning || ch.CurrentState.Name != types.InstanceStateNameShuttingDown || aws.ToInt32(ch.CurrentState.Code) != 32 {
			t.Fatalf("state change %+v %+v", ch.PreviousState, ch.CurrentState)
		}
		c.sim.Advance(time.Minute)
		d, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{spot[0]}})
		if err != nil {
			t.Fatal(err)
		}
		inst := d.Reservations[0].Instances[0]
		if inst.State.Name != types.InstanceStateNameTerminated || aws.ToInt32(inst.State.Code) != 48 ||
			aws.ToString(inst.StateReason.Code) != "Client.UserInitiatedShutdown" || inst.PrivateIpAddress != nil {
			t.Fatalf("terminated instance %+v %+v", inst.State, inst.StateReason)
		}
		_, err = c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
		wantAPIError(t, err, "InvalidInstanceID.NotFound", "")
	})

	t.Run("run errors", func(t *testing.T) {
		tests := []struct {
			name string
			in   *ec2.RunInstancesInput
			code string
		}{
			{"unknown image", &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String("ami-0000000000000dead")}, "InvalidAMIID.NotFound"},
			{"unknown key", &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64), KeyName: aws.String("nope")}, "InvalidKeyPair.NotFound"},
			{"unknown subnet", &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64), SubnetId: aws.String("subnet-0nope")}, "InvalidSubnetID.NotFound"},
			{"unknown template", &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")}}, "InvalidLaunchTemplateName.NotFoundException"},
			{"architecture mismatch", &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxARM64), InstanceType: types.InstanceTypeT3Micro}, "InvalidParameterValue"},
			{"min above max", &ec2.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64)}, "InvalidParameterValue"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.ec2.RunInstances(ctx, tc.in)
				wantAPIError(t, err, tc.code, "")
			})
		}
	})

	t.Run("no capacity", func(t *testing.T) {
		c.sim.SetPoolCapacity("c5.large", "us-east-1a", awssim.Spot, 1)
		in := &ec2.RunInstancesInput{
			MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: types.InstanceTypeC5Large,
			Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1a")}, InstanceMarketOptions: &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot},
		}
		_, err := c.ec2.RunInstances(ctx, in)
		wantAPIError(t, err, "InsufficientInstanceCapacity", "")
		in.MinCount = aws.Int32(1)
		if ids := runInstances(t, c, in); len(ids) != 1 {
			t.Fatalf("launched %d, want the 1 that fits", len(ids))
		}
	})
}

func TestEC2SpotInstanceRequests(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	ids := runInstances(t, c, &ec2.RunInstancesInput{
		MinCount: aws.Int32(7), MaxCount: aws.Int32(7), ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: types.InstanceTypeM5Large,
		InstanceMarketOptions: &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot},
	})
	c.sim.Advance(time.Minute)
	if err := c.sim.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}

	out, err := c.ec2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{ids[0], ids[1]}}},
	})
	if err != nil || len(out.SpotInstanceRequests) != 2 {
		t.Fatalf("%v, %+v", err, out)
	}
	byInstance := map[string]types.SpotInstanceRequest{}
	for _, sr := range out.SpotInstanceRequests {
		byInstance[aws.ToString(sr.InstanceId)] = sr
	}
	marked, ok := byInstance[ids[0]], byInstance[ids[1]]
	if aws.ToString(marked.Status.Code) != "marked-for-termination" || marked.State != types.SpotInstanceStateActive {
		t.Fatalf("interrupted request: %+v %+v", marked.State, marked.Status)
	}
	if aws.ToString(ok.Status.Code) != "fulfilled" || ok.Type != types.SpotInstanceTypeOneTime || ok.Status.UpdateTime == nil ||
		ok.LaunchSpecification == nil || ok.LaunchSpecification.InstanceType != types.InstanceTypeM5Large ||
		aws.ToString(ok.LaunchedAvailabilityZone) == "" || ok.CreateTime == nil {
		t.Fatalf("request: %+v", ok)
	}

	t.Run("status-code filter", func(t *testing.T) {
		out, err := c.ec2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{
			Filters: []types.Filter{{Name: aws.String("status-code"), Values: []string{"marked-for-*"}}},
		})
		if err != nil || len(out.SpotInstanceRequests) != 1 {
			t.Fatalf("%v, %d requests", err, len(out.SpotInstanceRequests))
		}
		_, err = c.ec2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{"sir-nope1234"}})
		wantAPIError(t, err, "InvalidSpotInstanceRequestID.NotFound", "")
	})

	t.Run("paginator", func(t *testing.T) {
		p := ec2.NewDescribeSpotInstanceRequestsPaginator(c.ec2, &ec2.DescribeSpotInstanceRequestsInput{MaxResults: aws.Int32(5)})
		n, pages := 0, 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.SpotInstanceRequests)
			pages++
		}
		if n != 7 || pages != 2 {
			t.Fatalf("%d requests in %d pages", n, pages)
		}
	})
}

func TestEC2DryRun(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	_, err := c.ec2.DescribeInstances(bCtx(t), &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	_, err = c.ec2.TerminateInstances(bCtx(t), &ec2.TerminateInstancesInput{DryRun: aws.Bool(true), InstanceIds: []string{"i-0123456789abcdef0"}})
	wantAPIError(t, err, "DryRunOperation", "")
}

// BenchmarkDescribeInstances1000 measures one unfiltered DescribeInstances
// page of 1000 instances over HTTP and the SDK.
func BenchmarkDescribeInstances1000(b *testing.B) {
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	sim, err := awssim.Start(awssim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	c := newBClientsFor(sim)
	ctx := b.Context()
	if _, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1000), MaxCount: aws.Int32(1000), ImageId: aws.String(awssim.ImageLinuxAMD64),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
		if err != nil || len(out.Reservations) != 1000 {
			b.Fatalf("%v, %d", err, len(out.Reservations))
		}
	}
}

func TestEC2Tags(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	id := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64)})[0]
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{tag("a", "1"), tag("b", "2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("a")}, tag("b", "other")}}); err != nil {
		t.Fatal(err)
	}
	inst, _ := c.sim.Instance(id)
	if len(inst.Tags) != 1 || inst.Tags["b"] != "2" {
		t.Fatalf("tags %v", inst.Tags)
	}
	_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []types.Tag{tag("a", "1")}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "")
}
