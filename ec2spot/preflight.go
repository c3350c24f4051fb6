package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
)

// The permission preflight asks AWS about every action the plugin needs,
// in ways that change nothing, and reports every denied action at once:
// one Init error instead of one surprise per code path (Increase, Decrease,
// the first connection), each hours apart.
//
// How each action is probed without effect:
//
//	autoscaling:DescribeAutoScalingGroups   the group, by name (read)
//	autoscaling:DescribePolicies            the group's policies (read)
//	autoscaling:SetDesiredCapacity          the group's current desired capacity (a no-op);
//	                                        skipped when the describe failed
//	autoscaling:TerminateInstanceInAutoScalingGroup
//	                                        a non-existent instance id, no decrement:
//	                                        ValidationError = granted
//	ec2:DescribeInstances                   DryRun: DryRunOperation = granted
//	ec2:GetPasswordData                     a member of the group (read; the answer is
//	                                        discarded); skipped without members
//	ec2-instance-connect:SendSSHPublicKey   a member of the group with a malformed key:
//	                                        InvalidArgsException = granted, and no key
//	                                        ever reaches an instance; skipped without members
//	autoscaling:DescribeScalingActivities   the group's latest activity (read)
//	ec2:DescribeSpotInstanceRequests        DryRun
//	ec2:DescribeInstanceStatus              DryRun (ready_when = "status-ok")
//	autoscaling:DescribeLifecycleHooks      the group's hooks (read; ready_when =
//	                                        "lifecycle-hook")
//	autoscaling:UpdateAutoScalingGroup      the group's name and nothing else (a no-op)
//	autoscaling:DeleteTags                  a tag key the group does not carry (a no-op)
//	autoscaling:CreateOrUpdateTags          not probed: every call writes a tag
//	autoscaling:LaunchInstances             not probed: every accepted call launches
//	sqs:ReceiveMessage, sqs:DeleteMessage   not probed: a receive hides messages from
//	                                        the consumer; the consumer logs a denial
//
// The instance-level actions are probed on real members because the README
// policy scopes them by the instance's group tag: a made-up instance has no
// tag, so AWS could deny it even to a correct policy. Any answer other than
// AccessDenied/UnauthorizedOperation counts as granted (AWS may validate
// arguments before it authorises, so a probe errs towards "granted", never
// towards failing a correct setup). Unverified against AWS: whether a
// resource-scoped TerminateInstanceInAutoScalingGroup is authorised before
// the unknown instance id is rejected.

// IAM actions the preflight probes.
const (
	ActionDescribeAutoScalingGroups = "autoscaling:DescribeAutoScalingGroups"
	ActionDescribePolicies          = "autoscaling:DescribePolicies"
	ActionSetDesiredCapacity        = "autoscaling:SetDesiredCapacity"
	ActionTerminateInstance         = "autoscaling:TerminateInstanceInAutoScalingGroup"
	ActionDescribeInstances         = "ec2:DescribeInstances"
	ActionGetPasswordData           = "ec2:GetPasswordData"
	ActionSendSSHPublicKey          = "ec2-instance-connect:SendSSHPublicKey"
	ActionDescribeScalingActivities = "autoscaling:DescribeScalingActivities"
	ActionDescribeSpotRequests      = "ec2:DescribeSpotInstanceRequests"
	ActionDescribeInstanceStatus    = "ec2:DescribeInstanceStatus"
	ActionDescribeLifecycleHooks    = "autoscaling:DescribeLifecycleHooks"
	ActionUpdateGroup               = "autoscaling:UpdateAutoScalingGroup"
	ActionDeleteTags                = "autoscaling:DeleteTags"
	ActionCreateOrUpdateTags        = "autoscaling:CreateOrUpdateTags"
	ActionLaunchInstances           = "autoscaling:LaunchInstances"
	ActionReceiveMessage            = "sqs:ReceiveMessage"
	ActionDeleteMessage             = "sqs:DeleteMessage"
)

// PreflightOptions select what the preflight probes.
type PreflightOptions struct {
	// Actions to probe; nil = every action the options below need.
	Actions []string
	// InstanceConnect: keys are pushed with EC2 Instance Connect.
	InstanceConnect bool
	// WindowsPasswords: Windows passwords are fetched with GetPasswordData.
	WindowsPasswords bool
	// GroupChanges: the plugin changes the group (on-demand fallback, fleet).
	GroupChanges bool
	// Queue: an interruption queue is consumed.
	Queue bool
	// SynchronousLaunch: instances are launched with LaunchInstances.
	SynchronousLaunch bool
	// StatusChecks: ready_when = "status-ok" reads instance status.
	StatusChecks bool
	// LaunchHook: ready_when = "lifecycle-hook" reads the group's hooks.
	LaunchHook bool
}

// needed lists the actions o needs, in probe order.
func (o PreflightOptions) needed() []string {
	if o.Actions != nil {
		return o.Actions
	}
	a := []string{ActionDescribeAutoScalingGroups, ActionDescribePolicies, ActionSetDesiredCapacity,
		ActionTerminateInstance, ActionDescribeInstances, ActionDescribeScalingActivities, ActionDescribeSpotRequests}
	if o.WindowsPasswords {
		a = append(a, ActionGetPasswordData)
	}
	if o.InstanceConnect {
		a = append(a, ActionSendSSHPublicKey)
	}
	if o.GroupChanges {
		a = append(a, ActionUpdateGroup, ActionDeleteTags, ActionCreateOrUpdateTags)
	}
	if o.Queue {
		a = append(a, ActionReceiveMessage, ActionDeleteMessage)
	}
	if o.SynchronousLaunch {
		a = append(a, ActionLaunchInstances)
	}
	if o.StatusChecks {
		a = append(a, ActionDescribeInstanceStatus)
	}
	if o.LaunchHook {
		a = append(a, ActionDescribeLifecycleHooks)
	}
	return a
}

// PreflightReport is what the preflight learnt.
type PreflightReport struct {
	Granted []string
	Denied  []string
	// Unchecked: actions that could not be probed, with why.
	Unchecked map[string]string
}

// PermissionError names every action AWS denied.
type PermissionError struct {
	Group     string
	Denied    []string
	Unchecked map[string]string
}

func (e *PermissionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "missing IAM permissions: AWS denied %s to the runner manager's identity; grant them as in the IAM policy in the README (section \"IAM policy for the runner manager\"), scoped to auto scaling group %q and its instances",
		strings.Join(e.Denied, ", "), e.Group)
	if len(e.Unchecked) > 0 {
		u := make([]string, 0, len(e.Unchecked))
		for _, a := range sortedActions(e.Unchecked) {
			u = append(u, a+" ("+e.Unchecked[a]+")")
		}
		fmt.Fprintf(&b, "; not checked: %s", strings.Join(u, ", "))
	}
	return b.String()
}

// probeInstanceID names no instance: EC2 ids are hex, and AWS never
// allocates the all-zero one.
const probeInstanceID = "i-00000000000000000"

// probeTagKey is a tag key no group carries.
const probeTagKey = "ec2spot:permission-probe"

// malformedKey is long enough for the API's length check and no key at all.
var malformedKey = "ssh-ed25519 " + strings.Repeat("A", 80) + " fleeting-plugin-ec2spot-permission-probe"

// Preflight probes the actions o needs. It returns a *PermissionError when
// AWS denied any of them and an explained error when AWS rejected the
// credentials; other failures (network, throttling) leave the action
// unchecked, since the calls that follow report them better.
func (g *Group) Preflight(ctx context.Context, o PreflightOptions) (*PreflightReport, error) {
	rep := &PreflightReport{Unchecked: map[string]string{}}
	var (
		desired  *int32
		member   string
		denyDesc string
	)
	for _, action := range o.needed() {
		var err error
		switch action {
		case ActionDescribeAutoScalingGroups:
			var out *autoscaling.DescribeAutoScalingGroupsOutput
			out, err = g.clients.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
				AutoScalingGroupNames: []string{g.name},
			})
			if err == nil {
				for _, grp := range out.AutoScalingGroups {
					if aws.ToString(grp.AutoScalingGroupName) != g.name {
						continue
					}
					desired = grp.DesiredCapacity
					for _, i := range grp.Instances {
						if member == "" && Classify(i.LifecycleState).CountsTowardDesired() {
							member = aws.ToString(i.InstanceId)
						}
					}
				}
			} else {
				denyDesc = "the group could not be described"
			}
		case ActionDescribePolicies:
			_, err = g.clients.AutoScaling.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{
				AutoScalingGroupName: aws.String(g.name),
			})
		case ActionSetDesiredCapacity:
			if desired == nil {
				rep.Unchecked[action] = orDefault(denyDesc, "the group was not found")
				continue
			}
			// The same value: a no-op, probed right after the describe.
			_, err = g.clients.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
				AutoScalingGroupName: aws.String(g.name),
				DesiredCapacity:      desired,
				HonorCooldown:        aws.Bool(false),
			})
		case ActionTerminateInstance:
			_, err = g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId:                     aws.String(probeInstanceID),
				ShouldDecrementDesiredCapacity: aws.Bool(false),
			})
		case ActionDescribeInstances:
			_, err = g.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
		case ActionGetPasswordData:
			if member == "" {
				rep.Unchecked[action] = orDefault(denyDesc, "no instance in the group yet")
				continue
			}
			_, err = g.clients.EC2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String(member)})
		case ActionSendSSHPublicKey:
			if member == "" {
				rep.Unchecked[action] = orDefault(denyDesc, "no instance in the group yet")
				continue
			}
			_, err = g.clients.InstanceConnect.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
				InstanceId:     aws.String(member),
				InstanceOSUser: aws.String("ec2-user"),
				SSHPublicKey:   aws.String(malformedKey),
			})
		case ActionDescribeScalingActivities:
			_, err = g.clients.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
				AutoScalingGroupName: aws.String(g.name),
				MaxRecords:           aws.Int32(1),
			})
		case ActionDescribeSpotRequests:
			_, err = g.clients.EC2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{DryRun: aws.Bool(true)})
		case ActionDescribeInstanceStatus:
			_, err = g.clients.EC2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{DryRun: aws.Bool(true)})
		case ActionDescribeLifecycleHooks:
			_, err = g.clients.AutoScaling.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(g.name)})
		case ActionUpdateGroup:
			_, err = g.clients.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(g.name),
			})
		case ActionDeleteTags:
			_, err = g.clients.AutoScaling.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{{
				ResourceId:   aws.String(g.name),
				ResourceType: aws.String("auto-scaling-group"),
				Key:          aws.String(probeTagKey),
			}}})
		case ActionCreateOrUpdateTags:
			rep.Unchecked[action] = "no harmless probe: every call writes a tag"
			continue
		case ActionLaunchInstances:
			rep.Unchecked[action] = "no harmless probe: every accepted call launches"
			continue
		case ActionReceiveMessage, ActionDeleteMessage:
			rep.Unchecked[action] = "no harmless probe: a receive hides messages from the consumer"
			continue
		default:
			rep.Unchecked[action] = "no probe for this action"
			continue
		}
		switch {
		case err == nil, errorCode(err) == "DryRunOperation":
			rep.Granted = append(rep.Granted, action)
		case IsAccessDenied(err):
			rep.Denied = append(rep.Denied, action)
		case IsBadCredentials(err):
			return rep, explain(action, err)
		case errorCode(err) != "" && !IsThrottle(err) && !isServerError(err):
			// AWS looked at the request past authorisation (not found,
			// invalid argument, wrong state): the action is granted.
			rep.Granted = append(rep.Granted, action)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return rep, err
		default:
			rep.Unchecked[action] = "probe failed: " + err.Error()
		}
	}
	if len(rep.Denied) > 0 {
		return rep, &PermissionError{Group: g.name, Denied: rep.Denied, Unchecked: rep.Unchecked}
	}
	return rep, nil
}

// isServerError: AWS failed before deciding anything (5xx codes).
func isServerError(err error) bool {
	switch errorCode(err) {
	case "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable",
		"Unavailable", "ServiceException", "EC2InstanceUnavailableException":
		return true
	}
	return false
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func sortedActions(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
