package ec2spot

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
)

// The permission-probe table: for every IAM action the plugin can call,
// how to learn whether AWS allows it without any effect, and when Init
// probes it. Init's preflight and doctor's IAM check both run this table
// (Group.Preflight), so they never disagree on what is safe to call.
//
// Safe means the call changes nothing and reads nothing that matters: a
// DryRun, a read, or a write AWS rejects after authorising it. Where no
// such call exists (a receive from the queue hides its messages from the
// plugin and counts towards their dead-letter limit; every accepted tag
// write or launch has an effect) the action is not probed, with the
// reason, by Init and doctor alike.
//
// Instance-level actions are probed only on a member of the group: the
// README policy scopes them by the instance's group tag, so a made-up
// instance would be denied even to a correct policy. Any answer other than
// AccessDenied/UnauthorizedOperation counts as granted (AWS may validate
// arguments before it authorises, so a probe errs towards "granted", never
// towards failing a correct setup). Unverified against AWS: whether a
// resource-scoped TerminateInstanceInAutoScalingGroup is authorised before
// the unknown instance id is rejected.

// ProbeAtInit says when Init's preflight probes an action.
type ProbeAtInit int

const (
	// NotProbed: no call tells without effect; Init and doctor report the
	// action as not checked, with the table's reason.
	NotProbed ProbeAtInit = iota
	// OnDenial: Init probes it only after an AccessDenied, to name every
	// denied action in one error; doctor always probes it.
	OnDenial
	// EveryInit: every Init probes it, even a successful one: a denial
	// would otherwise surface only when it costs (Decrease) or would hold
	// instances creating for good.
	EveryInit
)

// PermissionProbe is one row of the table.
type PermissionProbe struct {
	Action string
	// How: the call that probes it, or why there is none.
	How    string
	AtInit ProbeAtInit
	// Unneeded says why the plugin never calls the action when a config
	// does not need it ("" = always needed).
	Unneeded string
	needed   func(PreflightOptions) bool
	// probe returns the call's error, or skip: why it could not run here.
	probe func(ctx context.Context, g *Group, st *probeState) (skip string, err error)
}

// probeState is what earlier probes learnt, for later ones.
type probeState struct {
	described bool // the group was found
	maxSize   int32
	member    string
	denyDesc  string // why the group is unknown
}

func (st *probeState) noGroup() string { return orDefault(st.denyDesc, "the group was not found") }
func (st *probeState) noMember() string {
	return orDefault(st.denyDesc, "no instance in the group yet")
}
func always(PreflightOptions) bool { return true }
func notProbed(why string) func(context.Context, *Group, *probeState) (string, error) {
	return func(context.Context, *Group, *probeState) (string, error) { return why, nil }
}

// probeInstanceID names no instance: EC2 ids are hex, and AWS never
// allocates the all-zero one.
const probeInstanceID = "i-00000000000000000"

// probeTagKey is a tag key no group carries.
const probeTagKey = "ec2spot:permission-probe"

// malformedKey is long enough for the API's length check and no key at all.
var malformedKey = "ssh-ed25519 " + strings.Repeat("A", 80) + " fleeting-plugin-ec2spot-permission-probe"

// PermissionProbes is the table, in probe order (the group's describe
// first: later probes need what it learns).
var PermissionProbes = []PermissionProbe{
	{Action: ActionDescribeAutoScalingGroups, How: "the group, by name (read)", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, st *probeState) (string, error) {
			out, err := g.clients.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
				AutoScalingGroupNames: []string{g.name},
			})
			if err != nil {
				st.denyDesc = "the group could not be described"
				return "", err
			}
			for _, grp := range out.AutoScalingGroups {
				if aws.ToString(grp.AutoScalingGroupName) != g.name {
					continue
				}
				st.described, st.maxSize = true, aws.ToInt32(grp.MaxSize)
				for _, i := range grp.Instances {
					if st.member == "" && Classify(i.LifecycleState).CountsTowardDesired() {
						st.member = aws.ToString(i.InstanceId)
					}
				}
			}
			return "", nil
		}},
	{Action: ActionDescribePolicies, How: "the group's policies (read)", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(g.name)})
			return "", err
		}},
	{Action: ActionSetDesiredCapacity, How: "one above the group's MaxSize, honouring cooldown: rejected (ValidationError) after authorisation, so nothing changes even if the plugin scales meanwhile",
		AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, st *probeState) (string, error) {
			if !st.described {
				return st.noGroup(), nil
			}
			_, err := g.clients.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
				AutoScalingGroupName: aws.String(g.name),
				DesiredCapacity:      aws.Int32(st.maxSize + 1),
				HonorCooldown:        aws.Bool(true),
			})
			return "", err
		}},
	{Action: ActionTerminateInstance, How: "a made-up instance id, no decrement: ValidationError = granted", AtInit: EveryInit, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId:                     aws.String(probeInstanceID),
				ShouldDecrementDesiredCapacity: aws.Bool(false),
			})
			return "", err
		}},
	{Action: ActionEnterStandby, How: "a made-up instance id of the group, no decrement: ValidationError = granted", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.EnterStandby(ctx, &autoscaling.EnterStandbyInput{
				AutoScalingGroupName:           aws.String(g.name),
				InstanceIds:                    []string{probeInstanceID},
				ShouldDecrementDesiredCapacity: aws.Bool(false),
			})
			return "", err
		}},
	{Action: ActionDescribeInstances, How: "DryRun", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
			return "", err
		}},
	{Action: ActionDescribeScalingActivities, How: "the group's latest activity (read)", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
				AutoScalingGroupName: aws.String(g.name), MaxRecords: aws.Int32(1),
			})
			return "", err
		}},
	{Action: ActionDescribeSpotRequests, How: "DryRun", AtInit: OnDenial, needed: always,
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.EC2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{DryRun: aws.Bool(true)})
			return "", err
		}},
	{Action: ActionGetPasswordData, How: "DryRun on a member of the group (reads nothing)", AtInit: OnDenial,
		Unneeded: "only Windows runners without use_static_credentials read passwords",
		needed:   func(o PreflightOptions) bool { return o.WindowsPasswords },
		probe: func(ctx context.Context, g *Group, st *probeState) (string, error) {
			if st.member == "" {
				return st.noMember(), nil
			}
			_, err := g.clients.EC2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String(st.member), DryRun: aws.Bool(true)})
			return "", err
		}},
	{Action: ActionSendSSHPublicKey, How: "a member of the group with a malformed key: InvalidArgsException = granted, and no key ever reaches an instance",
		AtInit: OnDenial, Unneeded: "not used with use_static_credentials or on Windows",
		needed: func(o PreflightOptions) bool { return o.InstanceConnect },
		probe: func(ctx context.Context, g *Group, st *probeState) (string, error) {
			if st.member == "" {
				return st.noMember(), nil
			}
			_, err := g.clients.InstanceConnect.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
				InstanceId:     aws.String(st.member),
				InstanceOSUser: aws.String("ec2-user"),
				SSHPublicKey:   aws.String(malformedKey),
			})
			return "", err
		}},
	{Action: ActionUpdateGroup, How: "the group's name and nothing else (a no-op)", AtInit: OnDenial,
		Unneeded: "no on_demand_fallback or fleet in plugin_config",
		needed:   func(o PreflightOptions) bool { return o.GroupChanges },
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g.name)})
			return "", err
		}},
	{Action: ActionDeleteTags, How: "a tag key the group does not carry (a no-op)", AtInit: OnDenial,
		Unneeded: "no on_demand_fallback or fleet in plugin_config",
		needed:   func(o PreflightOptions) bool { return o.GroupChanges },
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{{
				ResourceId: aws.String(g.name), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(probeTagKey),
			}}})
			return "", err
		}},
	{Action: ActionCreateOrUpdateTags, How: "not probed: every call writes a tag (re-setting an existing one could undo the plugin's own change)",
		Unneeded: "no on_demand_fallback or fleet in plugin_config",
		needed:   func(o PreflightOptions) bool { return o.GroupChanges },
		probe:    notProbed("no harmless probe: every call writes a tag")},
	{Action: ActionReceiveMessage, How: "not probed: a receive hides messages from the plugin's consumer and counts towards their dead-letter limit; the consumer logs a denial",
		Unneeded: "no interruption_queue_url",
		needed:   func(o PreflightOptions) bool { return o.Queue },
		probe:    notProbed("no harmless probe: a receive hides messages from the consumer")},
	{Action: ActionDeleteMessage, How: "not probed, as ReceiveMessage: the consumer logs a denial",
		Unneeded: "no interruption_queue_url",
		needed:   func(o PreflightOptions) bool { return o.Queue },
		probe:    notProbed("no harmless probe: a receive hides messages from the consumer")},
	{Action: ActionLaunchInstances, How: "not probed: every accepted call launches",
		Unneeded: `launch_mode is asynchronous (the default): the plugin never calls it`,
		needed:   func(o PreflightOptions) bool { return o.SynchronousLaunch },
		probe:    notProbed("no harmless probe: every accepted call launches")},
	{Action: ActionDescribeInstanceStatus, How: "DryRun", AtInit: EveryInit,
		Unneeded: `ready_when is not "status-ok": the plugin never calls it`,
		needed:   func(o PreflightOptions) bool { return o.StatusChecks },
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.EC2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{DryRun: aws.Bool(true)})
			return "", err
		}},
	{Action: ActionDescribeLifecycleHooks, How: "the group's hooks (read)", AtInit: OnDenial,
		Unneeded: `ready_when is not "lifecycle-hook": the plugin never calls it`,
		needed:   func(o PreflightOptions) bool { return o.LaunchHook },
		probe: func(ctx context.Context, g *Group, _ *probeState) (string, error) {
			_, err := g.clients.AutoScaling.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(g.name)})
			return "", err
		}},
}

// probeFor returns the table's row for action.
func probeFor(action string) (PermissionProbe, bool) {
	for _, p := range PermissionProbes {
		if p.Action == action {
			return p, true
		}
	}
	return PermissionProbe{}, false
}

// Unneeded says why a plugin with options o never calls action ("" when
// it does, or the action is not in the table).
func (o PreflightOptions) Unneeded(action string) string {
	if p, ok := probeFor(action); ok && !p.needed(o) {
		return p.Unneeded
	}
	return ""
}
