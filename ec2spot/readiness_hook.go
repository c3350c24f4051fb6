package ec2spot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// The launch lifecycle hook of ready_when = "lifecycle-hook": the group
// holds each new instance in Pending:Wait (reported as creating) until the
// instance's own user data completes the hook with CONTINUE.

const (
	// LaunchTransition is the lifecycle transition of a launch hook.
	LaunchTransition = "autoscaling:EC2_INSTANCE_LAUNCHING"
	// DefaultReadyHookName is the hook setup --ready-hook creates.
	DefaultReadyHookName = "fleeting-ready"
	// DefaultReadyHookTimeout is the heartbeat timeout setup gives it:
	// boot plus user data, with room for slow AMIs.
	DefaultReadyHookTimeout = 15 * time.Minute
	// CheckLaunchHook is the stable id of the hook check.
	CheckLaunchHook = "launch_hook"
)

// Readiness hook timeouts outside this range get a warning.
const (
	minSensibleHookTimeout = 2 * time.Minute
	maxSensibleHookTimeout = time.Hour
)

// LaunchHook is a lifecycle hook on the launch transition.
type LaunchHook struct {
	Name             string
	HeartbeatTimeout time.Duration
	DefaultResult    string // CONTINUE or ABANDON
}

// LaunchHooks lists the group's launch lifecycle hooks
// (DescribeLifecycleHooks).
func (g *Group) LaunchHooks(ctx context.Context) ([]LaunchHook, error) {
	return DescribeLaunchHooks(ctx, g.clients.AutoScaling, g.name)
}

// LifecycleHooksAPI is the one call DescribeLaunchHooks makes.
type LifecycleHooksAPI interface {
	DescribeLifecycleHooks(ctx context.Context, params *autoscaling.DescribeLifecycleHooksInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
}

// DescribeLaunchHooks lists a group's launch lifecycle hooks.
func DescribeLaunchHooks(ctx context.Context, api LifecycleHooksAPI, group string) ([]LaunchHook, error) {
	out, err := api.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(group)})
	if err != nil {
		return nil, explain("autoscaling:DescribeLifecycleHooks", err)
	}
	var hooks []LaunchHook
	for _, h := range out.LifecycleHooks {
		if aws.ToString(h.LifecycleTransition) != LaunchTransition {
			continue
		}
		hooks = append(hooks, LaunchHook{
			Name:             aws.ToString(h.LifecycleHookName),
			HeartbeatTimeout: time.Duration(aws.ToInt32(h.HeartbeatTimeout)) * time.Second,
			DefaultResult:    aws.ToString(h.DefaultResult),
		})
	}
	return hooks, nil
}

// CheckLaunchHooks reviews a group's launch hooks for ready_when =
// "lifecycle-hook": none is an error (nothing would hold an instance until
// it is ready); a CONTINUE default result or an odd timeout is a warning.
func CheckLaunchHooks(group string, hooks []LaunchHook) []Finding {
	if len(hooks) == 0 {
		return []Finding{{
			Severity: SeverityError, Check: CheckLaunchHook,
			Problem: "ready_when = \"lifecycle-hook\" but the group has no launch lifecycle hook (" + LaunchTransition + "), so instances would be handed out before their user data is done",
			Fix: fmt.Sprintf("fleeting-plugin-ec2spot setup --ready-hook … (or aws autoscaling put-lifecycle-hook --auto-scaling-group-name %s --lifecycle-hook-name %s --lifecycle-transition %s --heartbeat-timeout %d --default-result ABANDON) and end the instances' user data with: %s",
				group, DefaultReadyHookName, LaunchTransition, int(DefaultReadyHookTimeout.Seconds()), strings.Join(CompleteHookCommand(group, DefaultReadyHookName), " ")),
		}}
	}
	var f []Finding
	for _, h := range hooks {
		put := fmt.Sprintf("aws autoscaling put-lifecycle-hook --auto-scaling-group-name %s --lifecycle-hook-name %s", group, h.Name)
		if h.DefaultResult != "ABANDON" {
			f = append(f, Finding{Severity: SeverityWarning, Check: CheckLaunchHook,
				Problem: fmt.Sprintf("launch hook %s has default result %s: an instance whose user data fails or hangs is put in service anyway at the timeout", h.Name, orDash(h.DefaultResult)),
				Fix:     put + " --default-result ABANDON"})
		}
		switch t := h.HeartbeatTimeout; {
		case t < minSensibleHookTimeout:
			f = append(f, Finding{Severity: SeverityWarning, Check: CheckLaunchHook,
				Problem: fmt.Sprintf("launch hook %s times out after %s, less than a typical boot plus user data: instances are abandoned (or put in service unready) before they finish", h.Name, t),
				Fix:     put + fmt.Sprintf(" --heartbeat-timeout %d", int(DefaultReadyHookTimeout.Seconds()))})
		case t > maxSensibleHookTimeout:
			f = append(f, Finding{Severity: SeverityWarning, Check: CheckLaunchHook,
				Problem: fmt.Sprintf("launch hook %s times out after %s: an instance whose user data hangs bills that long before the group gives up on it", h.Name, t),
				Fix:     put + fmt.Sprintf(" --heartbeat-timeout %d", int(DefaultReadyHookTimeout.Seconds()))})
		}
	}
	return f
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CompleteHookCommand is the shell the instance's user data ends with: it
// reads its id and region from instance metadata (IMDSv2) and completes
// the launch hook with CONTINUE. The instance's own role needs
// autoscaling:CompleteLifecycleAction on the group.
func CompleteHookCommand(group, hook string) []string {
	const imds = "http://169.254.169.254/latest"
	return []string{
		`TOKEN=$(curl -sf -X PUT ` + imds + `/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&`,
		`aws autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE`,
		`--instance-id "$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" ` + imds + `/meta-data/instance-id)"`,
		`--region "$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" ` + imds + `/meta-data/placement/region)"`,
		`--lifecycle-hook-name ` + shellQuote(hook) + ` --auto-scaling-group-name ` + shellQuote(group),
	}
}

// shellQuote quotes s for sh unless it is plainly safe.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:", r)) {
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CompleteHookPowerShell is CompleteHookCommand for Windows user data
// (<powershell>), with the AWS CLI.
func CompleteHookPowerShell(group, hook string) []string {
	const imds = "http://169.254.169.254/latest"
	psQuote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	return []string{
		`$token = Invoke-RestMethod -Method Put -Uri ` + imds + `/api/token -Headers @{'X-aws-ec2-metadata-token-ttl-seconds' = '300'}`,
		`$id = Invoke-RestMethod -Uri ` + imds + `/meta-data/instance-id -Headers @{'X-aws-ec2-metadata-token' = $token}`,
		`$region = Invoke-RestMethod -Uri ` + imds + `/meta-data/placement/region -Headers @{'X-aws-ec2-metadata-token' = $token}`,
		`aws autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE --instance-id $id --region $region --lifecycle-hook-name ` + psQuote(hook) + ` --auto-scaling-group-name ` + psQuote(group),
	}
}
