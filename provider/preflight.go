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
// successful Init still probes the probe table's EveryInit actions (e.g.
// TerminateInstanceInAutoScalingGroup, whose denial would otherwise
// surface only when instances should go away, and so bill). The other
// probes run only after a denial: every Init would otherwise add them to
// the calls the runner pays for.
func (g *InstanceGroup) checkPermissions(ctx context.Context, fleet *ec2spot.Fleet, settings provider.Settings, err error) error {
	opts := g.preflightOptions(settings)
	if err == nil {
		opts.Actions = opts.EveryInit()
		_, perr := fleet.Preflight(ctx, opts)
		var denied *ec2spot.PermissionError
		if errors.As(perr, &denied) {
			return denied
		}
		return nil // anything else is no verdict; Decrease reports it
	}
	if !ec2spot.IsAccessDenied(err) {
		return err
	}
	if _, perr := fleet.Preflight(ctx, opts); perr != nil {
		return perr
	}
	return err
}

// preflightOptions: the actions this config and connector need.
func (g *InstanceGroup) preflightOptions(s provider.Settings) ec2spot.PreflightOptions {
	return g.config.PreflightOptions(s.OS, s.UseStaticCredentials)
}

// PreflightOptions are the permissions a plugin with this config and a
// connector for os (with or without static credentials) needs: what Init
// probes, and what doctor checks.
func (c Config) PreflightOptions(os string, staticCredentials bool) ec2spot.PreflightOptions {
	return ec2spot.PreflightOptions{
		InstanceConnect:   !staticCredentials && os != "windows",
		WindowsPasswords:  !staticCredentials && os == "windows",
		GroupChanges:      c.OnDemandFallback != nil || c.Fleet != nil,
		Queue:             c.InterruptionQueueURL != "",
		SynchronousLaunch: c.LaunchMode == LaunchModeSynchronous,
		StatusChecks:      c.ReadyWhen == string(ec2spot.ReadyStatusOK),
		LaunchHook:        c.ReadyWhen == string(ec2spot.ReadyLifecycleHook),
	}
}
