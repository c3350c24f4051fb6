package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// checkReadyHook checks the launch lifecycle hook ready_when =
// "lifecycle-hook" relies on (exists, launch transition, ABANDON default,
// a timeout that fits a boot), and says "skipped" in the other modes.
func (d *Doctor) checkReadyHook(ctx context.Context) {
	check := ec2spot.CheckLaunchHook
	mode := d.Target.Plugin.ReadyWhen
	if mode != string(ec2spot.ReadyLifecycleHook) { // defaulted by provider.ParseConfig
		d.add(StatusSkip, check, fmt.Sprintf("skipped: ready_when is %q, the plugin does not rely on a launch lifecycle hook", mode), "")
		return
	}
	name := d.Target.Plugin.Name
	hooks, err := ec2spot.DescribeLaunchHooks(ctx, d.clients.AutoScaling, name)
	if err != nil {
		msg, fix := apiProblem("autoscaling:DescribeLifecycleHooks", err)
		d.add(StatusFail, check, msg, fix)
		return
	}
	findings := ec2spot.CheckLaunchHooks(name, hooks)
	for _, h := range hooks {
		// Launches that came close to the timeout: the next slow boot is
		// abandoned (or put in service unready).
		if d.slowestLaunch > 0 && d.slowestLaunch*5 >= h.HeartbeatTimeout*4 {
			findings = append(findings, ec2spot.Finding{Severity: ec2spot.SeverityWarning, Check: check,
				Problem: fmt.Sprintf("recent launches took up to %s to come in service, close to launch hook %s's heartbeat timeout %s",
					d.slowestLaunch.Round(time.Second), h.Name, h.HeartbeatTimeout),
				Fix: fmt.Sprintf("aws autoscaling put-lifecycle-hook --auto-scaling-group-name %s --lifecycle-hook-name %s --heartbeat-timeout %d",
					name, h.Name, int(min(2*d.slowestLaunch, 2*time.Hour).Round(time.Minute).Seconds()))})
		}
	}
	for _, f := range findings {
		d.addFinding(f)
	}
	if len(findings) > 0 {
		return
	}
	var desc []string
	for _, h := range hooks {
		desc = append(desc, fmt.Sprintf("%s (heartbeat timeout %s, default result %s)", h.Name, h.HeartbeatTimeout, h.DefaultResult))
	}
	d.add(StatusOK, check, "launch hook "+strings.Join(desc, ", ")+"; the instances' user data must complete it and their role allow autoscaling:CompleteLifecycleAction", "")
}
