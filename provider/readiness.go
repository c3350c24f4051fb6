package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The readiness gate (plugin_config ready_when): an InService member is
// reported running only once it is ready for a job. "running" trusts
// InService; "status-ok" waits for EC2's status checks; "lifecycle-hook"
// relies on the group's launch hook (Pending:Wait is creating anyway) and
// only checks at Init that the hook exists.

func (c *Config) validateReadyWhen() []error {
	var accepted []string
	for _, v := range ec2spot.ReadyWhenValues {
		if string(v) == c.ReadyWhen {
			return nil
		}
		accepted = append(accepted, string(v))
	}
	hint := ""
	if s := closest(c.ReadyWhen, accepted); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	return []error{fmt.Errorf("%s %q: %q (%swant %s)", msgInvalid, "ready_when", c.ReadyWhen, hint, strings.Join(accepted, ", "))}
}

// checkReadyHook fails Init when ready_when = "lifecycle-hook" and the
// group has no launch hook, saying how to create one; warnings are logged.
func checkReadyHook(ctx context.Context, log hclog.Logger, group *ec2spot.Fleet, readyWhen string) error {
	if readyWhen != string(ec2spot.ReadyLifecycleHook) {
		return nil
	}
	hooks, err := group.LaunchHooks(ctx)
	if err != nil {
		return fmt.Errorf("ready_when = \"lifecycle-hook\": checking the group's launch lifecycle hook: %w", err)
	}
	var errs []error
	for _, f := range ec2spot.CheckLaunchHooks(group.Name(), hooks) {
		if f.Severity == ec2spot.SeverityError {
			errs = append(errs, f)
			continue
		}
		log.Warn("launch lifecycle hook warning", "check", f.Check, "problem", f.Problem, "fix", f.Fix)
	}
	if len(errs) > 0 {
		return fmt.Errorf("auto scaling group %q is not set up for ready_when = \"lifecycle-hook\":\n%w", group.Name(), errors.Join(errs...))
	}
	for _, h := range hooks {
		log.Info("instances are ready when their user data completes the launch lifecycle hook", "hook", h.Name,
			"heartbeat_timeout", h.HeartbeatTimeout.String(), "default_result", h.DefaultResult)
	}
	return nil
}

// logImpaired warns once per instance whose status checks failed.
func logImpaired(log hclog.Logger, impaired []string) {
	for _, id := range impaired {
		log.Warn("instance failed its EC2 status checks (impaired): it stays creating and gets no job; the group's EC2 health check should replace it, terminate it if it stays (it bills)", "instance", id)
	}
}

// gated holds a running member back as creating while the gate says it is
// not ready.
func gated(notReady map[string]bool, id string, state provider.State) provider.State {
	if state == provider.StateRunning && notReady[id] {
		return provider.StateCreating
	}
	return state
}
