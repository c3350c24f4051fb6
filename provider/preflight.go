package provider

import (
	"context"
	"errors"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// checkPermissions runs at the end of Init (err == nil) and on every Init
// failure. An AccessDenied during Init becomes one error naming every
// action AWS denies (ec2spot.Preflight), not just the first one hit. A
// successful Init still probes TerminateInstanceInAutoScalingGroup, whose
// denial would otherwise surface only when instances should go away, and
// so bill. The other probes run only after a denial: every Init would
// otherwise add a no-op SetDesiredCapacity, a DryRun DescribeInstances
// and a SendSSHPublicKey to the calls the runner pays for.
func (g *InstanceGroup) checkPermissions(ctx context.Context, group *ec2spot.Group, settings provider.Settings, err error) error {
	opts := g.preflightOptions(settings)
	if err == nil {
		opts.Actions = []string{ec2spot.ActionTerminateInstance}
		if opts.StatusChecks {
			// Denied, it would hold every instance creating for good.
			opts.Actions = append(opts.Actions, ec2spot.ActionDescribeInstanceStatus)
		}
		_, perr := group.Preflight(ctx, opts)
		var denied *ec2spot.PermissionError
		if errors.As(perr, &denied) {
			return denied
		}
		return nil // anything else is no verdict; Decrease reports it
	}
	if !ec2spot.IsAccessDenied(err) {
		return err
	}
	if _, perr := group.Preflight(ctx, opts); perr != nil {
		return perr
	}
	return err
}

// preflightOptions: the actions this config and connector need.
func (g *InstanceGroup) preflightOptions(s provider.Settings) ec2spot.PreflightOptions {
	c := g.config
	return ec2spot.PreflightOptions{
		InstanceConnect:   !s.UseStaticCredentials && s.OS != "windows",
		WindowsPasswords:  !s.UseStaticCredentials && s.OS == "windows",
		GroupChanges:      c.OnDemandFallback != nil || c.Fleet != nil,
		Queue:             c.InterruptionQueueURL != "",
		SynchronousLaunch: c.LaunchMode == LaunchModeSynchronous,
		StatusChecks:      c.ReadyWhen == string(ec2spot.ReadyStatusOK),
		LaunchHook:        c.ReadyWhen == string(ec2spot.ReadyLifecycleHook),
	}
}
