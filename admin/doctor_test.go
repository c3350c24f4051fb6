package admin_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// world is a freshly set-up account and the target doctor checks.
type world struct {
	t      *testing.T
	sim    *awssim.Sim
	cfg    aws.Config
	target admin.Target
}

func setUp(t *testing.T) *world {
	t.Helper()
	sim, cfg := newSim(t)
	if r := runCLI(t, cfg, setupArgs()...); r.code != 0 {
		t.Fatalf("setup: %s%s", r.stdout, r.stderr)
	}
	target := admin.TargetFor([]byte(`{"name":"runners","interruption_queue_url":"` + sim.URL() + `/123456789012/runners-events"}`))
	if target.ConfigErr != nil {
		t.Fatal(target.ConfigErr)
	}
	target.OS, target.MaxInstances = "linux", 10
	return &world{t: t, sim: sim, cfg: cfg, target: target}
}

func (w *world) doctor() []admin.Result {
	return admin.RunDoctor(context.Background(), w.target, func(context.Context, ec2spot.AWSOptions) (aws.Config, error) { return w.cfg, nil })
}

func (w *world) asg() *autoscaling.Client { return autoscaling.NewFromConfig(w.cfg) }
func (w *world) ec2() *ec2.Client         { return ec2.NewFromConfig(w.cfg) }

func (w *world) must(_ any, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// useTemplateVersion points the group at a new template version.
func (w *world) useTemplateVersion(image string) {
	ctx := context.Background()
	out, err := w.ec2().CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("runners"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)}})
	w.must(out, err)
	g, _ := w.sim.Group("runners")
	w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("runners"),
		MixedInstancesPolicy: mixedWithVersion(g.Mixed.LaunchTemplate.ID, aws.ToInt64(out.LaunchTemplateVersion.VersionNumber))}))
}

// Done when: doctor passes a fresh setup, and finds each seeded
// misconfiguration with its fix.
func TestDoctorFindsEachMisconfiguration(t *testing.T) {
	ctx := context.Background()
	name := aws.String("runners")
	cases := []struct {
		name   string
		seed   func(w *world)
		check  string
		status admin.Status
		want   string // in message or fix
	}{
		{"scale-in protection off", func(w *world) {
			w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name, NewInstancesProtectedFromScaleIn: aws.Bool(false)}))
		}, ec2spot.CheckScaleInProtection, admin.StatusFail, "--new-instances-protected-from-scale-in"},
		{"AZRebalance resumed", func(w *world) {
			w.must(w.asg().ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: name, ScalingProcesses: []string{"AZRebalance"}}))
		}, ec2spot.CheckAZRebalance, admin.StatusFail, "suspend-processes"},
		{"a scaling policy", func(w *world) {
			w.must(w.asg().PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: name, PolicyName: aws.String("cpu"), AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1)}))
		}, ec2spot.CheckScalingPolicies, admin.StatusFail, "delete-policy"},
		{"MinSize 1", func(w *world) {
			w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name, MinSize: aws.Int32(1)}))
		}, ec2spot.CheckMinSize, admin.StatusFail, "--min-size 0"},
		{"capacity rebalance on", func(w *world) {
			w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name, CapacityRebalance: aws.Bool(true)}))
		}, ec2spot.CheckCapacityRebalance, admin.StatusWarn, "--no-capacity-rebalance"},
		{"max_instances above MaxSize", func(w *world) { w.target.MaxInstances = 50 }, "max_instances", admin.StatusFail, "--max-size 50"},
		{"group missing", func(w *world) { w.target.Plugin.Name = "nope" }, "group", admin.StatusFail, "not found"},
		{"AMI gone", func(w *world) { w.useTemplateVersion("ami-0deregistered0000") }, "ami", admin.StatusFail, "does not exist"},
		{"Windows AMI, Linux connector", func(w *world) { w.useTemplateVersion(awssim.ImageWindowsAMD64) }, "ami", admin.StatusFail, `set connector_config os = "windows"`},
		{"arm64 type on an amd64 AMI", func(w *world) {
			w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name,
				MixedInstancesPolicy: mixedTypes("t3.micro", "t4g.micro")}))
		}, "instance_types", admin.StatusFail, "t4g.micro cannot run"},
		{"one AZ", func(w *world) {
			w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name, VPCZoneIdentifier: aws.String("subnet-00000000000000001")}))
		}, "availability_zones", admin.StatusWarn, "add subnets in other availability zones"},
		{"launches failing", func(w *world) {
			for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
				w.sim.SetPoolCapacity(typ, "", awssim.OnDemand, 0)
				w.sim.SetPoolCapacity(typ, "", awssim.Spot, 0)
			}
			w.must(w.asg().SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(1)}))
			waitFor(w.t, "a failed activity", func() bool {
				g, _ := w.sim.Group("runners")
				for _, a := range g.Activities {
					if a.StatusCode == "Failed" {
						return true
					}
				}
				return false
			})
		}, "scaling_activities", admin.StatusWarn, "add instance types and availability zones"},
		{"queue deleted", func(w *world) {
			w.must(sqs.NewFromConfig(w.cfg).DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(w.target.Plugin.InterruptionQueueURL)}))
		}, "interruption_queue", admin.StatusFail, "does not exist"},
		{"no queue configured", func(w *world) { w.target.Plugin.InterruptionQueueURL = "" }, "interruption_queue", admin.StatusWarn, "--interruption-queue NAME"},
		{"rule no longer targets the queue", func(w *world) {
			w.must(eventbridge.NewFromConfig(w.cfg).RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("runners-ec2-spot-events"), Ids: []string{"fleeting-plugin-ec2spot"}}))
		}, "event_rules", admin.StatusFail, "EC2 Spot Instance Interruption Warning"},
		{"rule disabled", func(w *world) {
			w.must(eventbridge.NewFromConfig(w.cfg).PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("runners-ec2-spot-events"), EventPattern: aws.String(`{"source":["aws.ec2"]}`), State: "DISABLED"}))
		}, "event_rules", admin.StatusFail, "disabled: runners-ec2-spot-events"},
		{"queue policy removed", func(w *world) {
			w.must(sqs.NewFromConfig(w.cfg).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(w.target.Plugin.InterruptionQueueURL), Attributes: map[string]string{"Policy": ""}}))
		}, "queue_policy", admin.StatusFail, "events are dropped"},
		{"ec2:DescribeInstances denied", func(w *world) {
			w.sim.InjectFault(awssim.Fault{Service: "ec2", Action: "DescribeInstances", Code: "UnauthorizedOperation", Status: 403, Message: "You are not authorized to perform this operation."})
		}, "iam:ec2:DescribeInstances", admin.StatusFail, "add ec2:DescribeInstances to the runner manager's IAM policy"},
		{"autoscaling:SetDesiredCapacity denied", func(w *world) {
			w.sim.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", Code: "AccessDenied", Status: 403, Message: "User is not authorized"})
		}, "iam:autoscaling:SetDesiredCapacity", admin.StatusFail, "add autoscaling:SetDesiredCapacity"},
		{"credentials expired", func(w *world) { w.sim.ExpireCredentials("AKIDADMIN", true) }, "group", admin.StatusFail, "rejected the credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := setUp(t)
			c.seed(w)
			found := false
			for _, r := range w.doctor() {
				if r.Check == c.check && r.Status == c.status && strings.Contains(r.Message+" "+r.Fix, c.want) {
					found = true
				}
				if r.Status == admin.StatusFail && r.Fix == "" {
					t.Errorf("a failure without a fix: %s", r)
				}
			}
			if !found {
				var lines []string
				for _, r := range w.doctor() {
					lines = append(lines, r.String())
				}
				t.Fatalf("no %s %s mentioning %q:\n%s", c.status, c.check, c.want, strings.Join(lines, "\n"))
			}
		})
	}
}

func mixedTypes(types ...string) *astypes.MixedInstancesPolicy {
	m := &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{}}
	for _, typ := range types {
		m.LaunchTemplate.Overrides = append(m.LaunchTemplate.Overrides, astypes.LaunchTemplateOverrides{InstanceType: aws.String(typ)})
	}
	return m
}

func mixedWithVersion(templateID string, version int64) *astypes.MixedInstancesPolicy {
	return &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{
		LaunchTemplateId: aws.String(templateID), Version: aws.String(strconv.FormatInt(version, 10)),
	}}}
}

// The doctor command exits 1 on failures, 0 otherwise; a missing region
// is a failure of its own.
func TestDoctorCommand(t *testing.T) {
	w := setUp(t)
	w.sim.ResetCalls()
	before, _ := w.sim.Group("runners")
	if r := runCLI(t, w.cfg, "doctor", "--name", "runners"); r.code != admin.ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	// Doctor changes nothing: its probes are rejected, read-only or DryRun
	// (no fallback or fleet here, so not even the empty update), and it
	// writes no tag.
	after, _ := w.sim.Group("runners")
	m := mutatingCalls(w.sim)
	if len(m) != 0 || after.Desired != before.Desired || after.MaxSize != before.MaxSize || after.MinSize != before.MinSize ||
		!reflect.DeepEqual(after.Tags, before.Tags) || !reflect.DeepEqual(after.Mixed, before.Mixed) ||
		after.NewInstancesProtectedFromScaleIn != before.NewInstancesProtectedFromScaleIn || len(after.SuspendedProcesses) != len(before.SuspendedProcesses) {
		t.Fatalf("doctor changed things: %v\nbefore %+v\nafter  %+v", m, before, after)
	}
	if r := runCLI(t, w.cfg, "doctor", "--name", "nope"); r.code != admin.ExitFailed || !strings.Contains(r.stdout, "fail  group:") {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	if r := runCLI(t, w.cfg, "doctor"); r.code != admin.ExitUsage {
		t.Fatalf("no target: exit %d", r.code)
	}
	res := admin.RunDoctor(context.Background(), w.target, func(context.Context, ec2spot.AWSOptions) (aws.Config, error) {
		return aws.Config{}, ec2spot.ErrNoRegion
	})
	if len(res) != 1 || res[0].Status != admin.StatusFail || res[0].Check != "aws" || !strings.Contains(res[0].Message, "no AWS region") {
		t.Fatalf("no region: %v", res)
	}
}

// A Windows group: the AMI matches a windows connector, and the password
// permission is probed instead of Instance Connect.
func TestDoctorWindowsGroup(t *testing.T) {
	sim, cfg := newSim(t)
	if r := runCLI(t, cfg, setupArgs("--ami", awssim.ImageWindowsAMD64)...); r.code != 0 {
		t.Fatalf("setup: %s%s", r.stdout, r.stderr)
	}
	target := admin.TargetFor([]byte(`{"name":"runners"}`))
	target.OS, target.KeyPath = "windows", "/etc/gitlab-runner/runners.pem"
	w := &world{t: t, sim: sim, cfg: cfg, target: target}
	// The password probe needs a member: a made-up instance lacks the group
	// tag the policy's condition asks for.
	w.must(w.asg().SetDesiredCapacity(context.Background(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(1)}))
	waitFor(t, "a member", func() bool { return len(sim.Instances()) > 0 })
	got := map[string]admin.Result{}
	for _, r := range w.doctor() {
		got[r.Check] = r
	}
	if r := got["ami"]; r.Status != admin.StatusOK || !strings.Contains(r.Message, "windows/amd64") {
		t.Errorf("ami: %s", r)
	}
	if r := got["iam:ec2:GetPasswordData"]; r.Status != admin.StatusOK || r.Message != "allowed" {
		t.Errorf("password probe: %s", r)
	}
	if r := got["iam:ec2-instance-connect:SendSSHPublicKey"]; r.Status != admin.StatusOK || !strings.Contains(r.Message, "not needed") {
		t.Errorf("instance connect probe: %s", r)
	}
}
