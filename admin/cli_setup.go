package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

const setupUsage = `Usage: fleeting-plugin-ec2spot setup [--config FILE] [flags]

Creates or updates, idempotently, a spot Auto Scaling group for GitLab
Runner: launch template, group with a mixed instances policy, scale-in
protection, AZRebalance suspended, no scaling policies, tags and, with
--interruption-queue, the SQS queue and EventBridge rules; with --ready-hook,
the launch lifecycle hook of ready_when = "lifecycle-hook". Prints the plan,
applies it (not with --dry-run), then the config.toml snippet and the
runner manager's IAM policy.

--config FILE reads the same settings from TOML or JSON (.json), keys named
like the flags (max-size or max_size); flags given on the command line win.

Flags:
`

func (c CLI) setup(ctx context.Context, args []string) int {
	f := newSetupFlags()
	f.fs.SetOutput(c.Stderr)
	f.fs.Usage = func() {
		fmt.Fprint(c.Stderr, setupUsage)
		f.fs.PrintDefaults()
		fmt.Fprintf(c.Stderr, "\nThe identity running setup needs: %s.\n", strings.Join(SetupActions, ", "))
	}
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(c.Stderr, "setup: %v\n", err)
		return ExitUsage
	}
	spec := f.spec
	spec.applyDefaults()
	if err := spec.Validate(); err != nil {
		fmt.Fprintf(c.Stderr, "setup: invalid settings:\n%v\n", err)
		return ExitUsage
	}
	cfg, err := c.LoadAWS(ctx, ec2spot.AWSOptions{Region: f.region, Profile: f.profile})
	if err != nil {
		fmt.Fprintf(c.Stderr, "setup: %v\n", err)
		return ExitFailed
	}
	clients := NewClients(cfg)
	plan, err := MakePlan(ctx, clients, cfg.Region, spec)
	if err != nil {
		fmt.Fprintf(c.Stderr, "setup: %v\n", err)
		return ExitFailed
	}
	plan.SQSEndpoint = aws.ToString(cfg.BaseEndpoint)
	plan.Write(c.Stdout)
	switch {
	case f.dryRun:
		fmt.Fprintln(c.Stdout, "Dry run: nothing changed.")
		if plan.Predicted() {
			fmt.Fprintf(c.Stdout, "The queue URL and ARN below are the ones setup will create (account %s, from %s).\n", plan.Account(), plan.AccountSource())
		}
		if plan.AccountSource() == accountFromSubnets {
			fmt.Fprintf(c.Stdout, "Account %s is the subnets' owner: in a shared VPC that is another account (aws sts get-caller-identity shows yours).\n", plan.Account())
		} else if plan.Account() == "" {
			fmt.Fprintln(c.Stdout, "ACCOUNT_ID below is a placeholder: the account could not be read (aws sts get-caller-identity shows it).")
		}
	case !plan.Empty():
		if err := plan.Apply(ctx, c.Stdout); err != nil {
			fmt.Fprintf(c.Stderr, "setup: %v\n", err)
			return ExitFailed
		}
		// Plan again: confirms the result and learns the new ARNs.
		again, err := MakePlan(ctx, clients, cfg.Region, spec)
		if err != nil {
			fmt.Fprintf(c.Stderr, "setup: re-reading the result: %v\n", err)
			return ExitFailed
		}
		again.SQSEndpoint = plan.SQSEndpoint
		if !again.Empty() {
			fmt.Fprintln(c.Stdout, "warning: AWS does not show every change yet (eventual consistency); run setup again to confirm:")
			again.Write(c.Stdout)
		}
		plan = again
	}
	c.printResult(plan, f.username)
	return ExitOK
}

func readyWhenFor(s Spec) string {
	if s.ReadyHook {
		return string(ec2spot.ReadyLifecycleHook)
	}
	return ""
}

func (c CLI) printResult(plan *Plan, username string) {
	w := c.Stdout
	fmt.Fprintf(w, "\nAdd this to the [[runners]] entry of config.toml:\n\n")
	WriteSnippet(w, SnippetOptions{
		Group: plan.Spec.Name, Region: plan.Region, QueueURL: plan.QueueURL(), QueueKey: "interruption_queue_url",
		MaxSize: plan.Spec.MaxSize, Windows: plan.Windows, Username: username, ReadyWhen: readyWhenFor(plan.Spec),
	})
	policy, err := RunnerPolicy(plan.Region, plan.Account(), plan.Spec.Name, plan.QueueARN())
	if err != nil {
		fmt.Fprintf(c.Stderr, "setup: IAM policy: %v\n", err)
		return
	}
	fmt.Fprintf(w, "\nIAM policy for the runner manager:\n\n%s\n", policy.JSON())
	if plan.Spec.ReadyHook {
		writeReadyHookHelp(w, plan)
	}
	fmt.Fprintf(w, "\nThen run `gitlab-runner fleeting install` if the plugin is referenced from a registry, start the runner, and check with:\n  %s doctor --config /etc/gitlab-runner/config.toml\n", toolName)
}
