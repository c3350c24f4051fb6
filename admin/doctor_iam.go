package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// checkIAM checks each action of the runner manager's policy with the
// plugin's own probe table (ec2spot.PermissionProbes, run by
// Group.Preflight): the calls Init's preflight makes, no others, so doctor
// never does what the plugin refuses to do (push a key, receive from the
// queue, write a tag). Actions the table cannot probe without effect are
// reported as skipped, with the reason.
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
	actions := policy.Actions()
	for _, a := range PluginActions() { // also what the code calls, README or not
		if !slices.Contains(actions, a) && (queueARN != "" || !strings.HasPrefix(a, "sqs:")) {
			actions = append(actions, a)
		}
	}
	opts := d.Target.Plugin.PreflightOptions(d.Target.OS, d.Target.UseStaticCredentials)
	var probe []string
	for _, action := range actions {
		check := "iam:" + action
		switch why := opts.Unneeded(action); {
		case why != "":
			d.add(StatusOK, check, "not needed: "+why, "")
		case d.group == nil && strings.HasPrefix(action, "autoscaling:"):
			d.add(StatusSkip, check, "not probed: the group is missing", "")
		default:
			probe = append(probe, action)
		}
	}
	if len(probe) == 0 {
		return
	}
	opts.Actions = probe
	group := ec2spot.NewGroup(ec2spot.GroupOptions{Name: d.Target.Plugin.Name, Region: d.AWS.Region, Clients: ec2spot.NewClients(d.AWS)})
	rep, err := group.Preflight(ctx, opts)
	var denied *ec2spot.PermissionError
	if err != nil && !errors.As(err, &denied) {
		d.add(StatusFail, "iam", "the permission probes stopped: "+err.Error(), "check the credentials doctor runs with (the runner manager's)")
		return
	}
	for _, action := range probe {
		check := "iam:" + action
		switch {
		case slices.Contains(rep.Granted, action):
			d.add(StatusOK, check, "allowed", "")
		case slices.Contains(rep.Denied, action):
			d.add(StatusFail, check, "denied by AWS", fmt.Sprintf("add %s to the runner manager's IAM policy (setup prints it)", action))
		case rep.Failed[action] != nil:
			msg, fix := apiProblem(action, rep.Failed[action])
			d.add(StatusWarn, check, "not verified: "+msg, fix)
		default:
			d.add(StatusSkip, check, "not probed: "+rep.Unchecked[action], "make sure the runner manager's policy allows it")
		}
	}
}
