package admin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The launch lifecycle hook of ready_when = "lifecycle-hook": setup
// --ready-hook creates it (PutLifecycleHook creates or updates, so
// running setup again converges) and prints the user-data line the
// instances end with.

func (p *Plan) planReadyHook(ctx context.Context) error {
	if !p.Spec.ReadyHook {
		return nil
	}
	name, hook := p.Spec.Name, ec2spot.DefaultReadyHookName
	want := ec2spot.LaunchHook{Name: hook, HeartbeatTimeout: p.Spec.ReadyHookTimeout, DefaultResult: "ABANDON"}
	res := "lifecycle hook " + hook + " of " + name
	detail := fmt.Sprintf("%s, heartbeat timeout %ds, default result ABANDON (an instance whose user data does not complete it is terminated and replaced)",
		ec2spot.LaunchTransition, int(want.HeartbeatTimeout.Seconds()))
	put := func(ctx context.Context, _ *applyState) error {
		_, err := p.clients.AutoScaling.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{
			AutoScalingGroupName: aws.String(name), LifecycleHookName: aws.String(hook),
			LifecycleTransition: aws.String(ec2spot.LaunchTransition),
			HeartbeatTimeout:    aws.Int32(int32(want.HeartbeatTimeout / time.Second)), DefaultResult: aws.String(want.DefaultResult),
		})
		return err
	}
	if p.GroupARN == "" { // the group is created by an earlier step
		p.add(OpCreate, res, detail, put)
		return nil
	}
	out, err := p.clients.AutoScaling.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{
		AutoScalingGroupName: aws.String(name), LifecycleHookNames: []string{hook},
	})
	if err != nil {
		return fmt.Errorf("describing lifecycle hook %s of %s: %w", hook, name, err)
	}
	if len(out.LifecycleHooks) == 0 {
		p.add(OpCreate, res, detail, put)
		return nil
	}
	h := out.LifecycleHooks[0]
	var ch []string
	diff := func(what string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			ch = append(ch, fmt.Sprintf("%s %v → %v", what, got, want))
		}
	}
	diff("transition", deref(h.LifecycleTransition), ec2spot.LaunchTransition)
	diff("heartbeat timeout", fmt.Sprintf("%ds", deref(h.HeartbeatTimeout)), fmt.Sprintf("%ds", int(want.HeartbeatTimeout.Seconds())))
	diff("default result", deref(h.DefaultResult), want.DefaultResult)
	if len(ch) > 0 {
		p.add(OpUpdate, res, strings.Join(ch, "; "), put)
	}
	return nil
}

// writeReadyHookHelp prints what the instances need for the hook: the
// user-data line and their own role's permission.
func writeReadyHookHelp(w io.Writer, plan *Plan) {
	group, hook := plan.Spec.Name, ec2spot.DefaultReadyHookName
	fmt.Fprintf(w, "\nEnd the instances' user data (after everything a job needs is installed) with:\n\n")
	if plan.Windows {
		for _, l := range ec2spot.CompleteHookPowerShell(group, hook) {
			fmt.Fprintf(w, "%s\n", l)
		}
	} else {
		lines := ec2spot.CompleteHookCommand(group, hook)
		for i, l := range lines {
			if i > 0 {
				l = "  " + l
			}
			if i < len(lines)-1 && !strings.HasSuffix(l, "&&") {
				l += ` \`
			}
			fmt.Fprintf(w, "%s\n", l)
		}
	}
	account := plan.Account()
	if account == "" {
		account = "ACCOUNT_ID"
	}
	fmt.Fprintf(w, "\nThe instances' own role (their instance profile, not the runner manager) needs:\n\n")
	fmt.Fprintf(w, `  {"Effect": "Allow", "Action": "autoscaling:CompleteLifecycleAction", "Resource": "arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s"}`+"\n",
		partition(plan.Region), plan.Region, account, group)
	tools := "the AWS CLI and curl"
	if plan.Windows {
		tools = "the AWS CLI"
	}
	fmt.Fprintf(w, "\nThe AMI needs %s. An instance that does not complete the hook within %s is terminated and replaced.\n", tools, plan.Spec.ReadyHookTimeout)
	if len(plan.Spec.UserData) > 0 && !strings.Contains(string(plan.Spec.UserData), "complete-lifecycle-action") {
		fmt.Fprintf(w, "warning: --user-data does not run complete-lifecycle-action yet: every instance would be abandoned at the timeout.\n")
	}
}
