package admin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The IAM checks call every action of the runner manager's policy in a way
// that changes nothing: EC2 with DryRun (DryRunOperation = allowed), Auto
// Scaling with arguments it rejects only after authorising the call
// (ValidationError = allowed) or with no-op writes (an update without
// changes, an existing tag re-set, an absent tag deleted), SQS with a
// receive that hides a message for a second and a delete of a receipt
// handle that does not exist. That AWS authorises
// before validating these arguments is the documented order for EC2 DryRun
// and assumed (unverified) for the others; an unexpected answer is a
// warning, never a pass.

// probeNoInstance is a well-formed id no instance has.
const probeNoInstance = "i-00000000000000000"

// probe outcome of one call: allowed answers are the error codes that
// prove the call got past IAM.
type probe struct {
	call    func(ctx context.Context) error
	allowed []string
	// deniedMaybe: a denial that a resource condition could explain (the
	// probe's instance is not the group's), so only a warning.
	deniedMaybe bool
	skip        string // not needed for this runner: why
	unprobed    bool   // no harmless call possible here
}

func (d *Doctor) probes() map[string]probe {
	name := d.Target.Plugin.Name
	maxSize := int32(0)
	instance, fakeInstance := probeNoInstance, true
	if d.group != nil {
		maxSize = int32(d.group.snap.MaxSize)
		if d.group.instanceID != "" {
			instance, fakeInstance = d.group.instanceID, false
		}
	}
	windows := d.Target.OS == "windows"
	user := d.Target.Username
	if user == "" {
		user = "ec2-user"
	}
	queue := d.Target.Plugin.InterruptionQueueURL
	c := d.clients
	var tag *astypes.Tag // an existing tag, re-set unchanged
	if d.group != nil {
		for _, t := range d.group.raw.Tags {
			tag = &astypes.Tag{Key: t.Key, Value: t.Value, PropagateAtLaunch: t.PropagateAtLaunch, ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group")}
			break
		}
	}
	return map[string]probe{
		"autoscaling:LaunchInstances": {unprobed: true, // any accepted call launches
			skip: skipUnless(d.Target.Plugin.LaunchMode == "synchronous", "launch_mode is asynchronous (the default): the plugin never calls it")},
		"autoscaling:UpdateAutoScalingGroup": {call: func(ctx context.Context) error {
			// Only the name: an update that changes nothing.
			_, err := c.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name)})
			return err
		}},
		"autoscaling:CreateOrUpdateTags": {call: func(ctx context.Context) error {
			_, err := c.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{*tag}})
			return err
		}, unprobed: tag == nil},
		"autoscaling:DeleteTags": {call: func(ctx context.Context) error {
			// A key nobody sets: deleting it changes nothing.
			_, err := c.AutoScaling.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{{Key: aws.String(toolName + "-doctor-probe"), ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group")}}})
			return err
		}},
		"autoscaling:SetDesiredCapacity": {call: func(ctx context.Context) error {
			// Above MaxSize: rejected after authorisation, changes nothing.
			_, err := c.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(maxSize + 1), HonorCooldown: aws.Bool(true)})
			return err
		}, allowed: []string{"ValidationError"}},
		"autoscaling:TerminateInstanceInAutoScalingGroup": {call: func(ctx context.Context) error {
			_, err := c.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(probeNoInstance), ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		}, allowed: []string{"ValidationError"}, deniedMaybe: true},
		"ec2:DescribeInstances": {call: func(ctx context.Context) error {
			_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
			return err
		}, allowed: []string{"DryRunOperation"}},
		"ec2:DescribeSpotInstanceRequests": {call: func(ctx context.Context) error {
			_, err := c.EC2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{DryRun: aws.Bool(true)})
			return err
		}, allowed: []string{"DryRunOperation"}},
		"ec2:DescribeInstanceStatus": {call: func(ctx context.Context) error {
			_, err := c.EC2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{DryRun: aws.Bool(true)})
			return err
		}, allowed: []string{"DryRunOperation"}, skip: skipUnless(d.Target.Plugin.ReadyWhen == string(ec2spot.ReadyStatusOK), `ready_when is not "status-ok": the plugin never calls it`)},
		"autoscaling:DescribeLifecycleHooks": {call: func(ctx context.Context) error {
			_, err := c.AutoScaling.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(name)})
			return err
		}, skip: skipUnless(d.Target.Plugin.ReadyWhen == string(ec2spot.ReadyLifecycleHook), `ready_when is not "lifecycle-hook": the plugin never calls it`)},
		"ec2:GetPasswordData": {call: func(ctx context.Context) error {
			_, err := c.EC2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String(instance), DryRun: aws.Bool(true)})
			return err
		}, allowed: []string{"DryRunOperation"}, deniedMaybe: fakeInstance, skip: skipUnless(windows, "only Windows runners read passwords")},
		"ec2-instance-connect:SendSSHPublicKey": {call: func(ctx context.Context) error {
			// A fresh key nobody holds; EC2 forgets it after 60 s.
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			sshPub, err := ssh.NewPublicKey(pub)
			if err != nil {
				return err
			}
			_, err = c.InstanceConnect.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
				InstanceId: aws.String(instance), InstanceOSUser: aws.String(user), SSHPublicKey: aws.String(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))),
			})
			return err
		}, allowed: []string{"EC2InstanceNotFoundException", "EC2InstanceStateInvalidException", "EC2InstanceUnavailableException"}, deniedMaybe: fakeInstance,
			skip: skipUnless(!windows && !d.Target.UseStaticCredentials, "not used with use_static_credentials or on Windows")},
		"sqs:ReceiveMessage": {call: func(ctx context.Context) error {
			// Visibility 1 s (0 cannot be sent): a message received here
			// reaches the plugin a second late, never lost.
			_, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 1, VisibilityTimeout: 1, WaitTimeSeconds: 0})
			return err
		}, skip: skipUnless(queue != "", "no interruption queue")},
		"sqs:DeleteMessage": {call: func(ctx context.Context) error {
			_, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: aws.String("doctor-probe")})
			return err
		}, allowed: []string{"ReceiptHandleIsInvalid"}, skip: skipUnless(queue != "", "no interruption queue")},
	}
}

func skipUnless(needed bool, why string) string {
	if needed {
		return ""
	}
	return why
}

// checkIAM checks each action of the runner manager's policy.
func (d *Doctor) checkIAM(ctx context.Context) {
	queueARN := ""
	if d.Target.Plugin.InterruptionQueueURL != "" {
		queueARN = "QUEUE" // only decides whether queue actions are listed
	}
	policy, err := RunnerPolicy(d.AWS.Region, "", d.Target.Plugin.Name, queueARN)
	if err != nil {
		d.add(StatusFail, "iam", "the embedded policy does not parse: "+err.Error(), "report a bug")
		return
	}
	probes := d.probes()
	actions := policy.Actions()
	for _, a := range PluginActions() { // also what the code calls, README or not
		if !slices.Contains(actions, a) && (queueARN != "" || !strings.HasPrefix(a, "sqs:")) {
			actions = append(actions, a)
		}
	}
	for _, action := range actions {
		check := "iam:" + action
		if err, done := d.probeErr[action]; done {
			d.reportProbe(check, action, err, nil, false)
			continue
		}
		p, ok := probes[action]
		switch {
		case !ok:
			d.add(StatusWarn, check, "not probed by this doctor", "make sure the runner manager's policy allows it")
		case p.skip != "":
			d.add(StatusOK, check, "not needed: "+p.skip, "")
		case p.unprobed:
			d.add(StatusWarn, check, "not probed: no harmless call possible here", "make sure the runner manager's policy allows it")
		case d.group == nil && strings.HasPrefix(action, "autoscaling:"):
			d.add(StatusWarn, check, "not probed: the group is missing", "")
		default:
			d.reportProbe(check, action, p.call(ctx), p.allowed, p.deniedMaybe)
		}
	}
}

func (d *Doctor) reportProbe(check, action string, err error, allowed []string, deniedMaybe bool) {
	code := errorCode(err)
	switch {
	case err == nil || contains(allowed, code):
		d.add(StatusOK, check, "allowed", "")
	case ec2spot.IsAccessDenied(err) && deniedMaybe:
		d.add(StatusWarn, check, "denied for a probe instance outside the group; a policy limited to the group's instances does that too",
			"run doctor again when the group has an InService instance")
	case ec2spot.IsAccessDenied(err):
		d.add(StatusFail, check, "denied: "+apiMessage(err), fmt.Sprintf("add %s to the runner manager's IAM policy (setup prints it)", action))
	default:
		msg, fix := apiProblem(action, err)
		d.add(StatusWarn, check, "not verified: "+msg, fix)
	}
}
