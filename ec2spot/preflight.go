package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The permission preflight asks AWS about every action the plugin needs,
// in ways that change nothing, and reports every denied action at once:
// one Init error instead of one surprise per code path (Increase, Decrease,
// the first connection), each hours apart. What it calls, and when, is the
// probe table (preflight_probes.go), which doctor runs too.

// IAM actions the preflight probes.
const (
	ActionDescribeAutoScalingGroups = "autoscaling:DescribeAutoScalingGroups"
	ActionDescribePolicies          = "autoscaling:DescribePolicies"
	ActionSetDesiredCapacity        = "autoscaling:SetDesiredCapacity"
	ActionTerminateInstance         = "autoscaling:TerminateInstanceInAutoScalingGroup"
	ActionEnterStandby              = "autoscaling:EnterStandby"
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

// needed lists the actions to probe in the table's order (later probes
// use what the group's describe learnt): o.Actions, or every action o
// needs.
func (o PreflightOptions) needed() []string {
	var a []string
	for _, p := range PermissionProbes {
		if (o.Actions == nil && p.needed(o)) || slices.Contains(o.Actions, p.Action) {
			a = append(a, p.Action)
		}
	}
	for _, action := range o.Actions {
		if !slices.Contains(a, action) {
			a = append(a, action) // not in the table: reported unchecked
		}
	}
	return a
}

// EveryInit lists the actions o needs that every Init probes, even a
// successful one (the table's EveryInit rows).
func (o PreflightOptions) EveryInit() []string {
	var a []string
	for _, p := range PermissionProbes {
		if p.AtInit == EveryInit && p.needed(o) {
			a = append(a, p.Action)
		}
	}
	return a
}

// PreflightReport is what the preflight learnt.
type PreflightReport struct {
	Granted []string
	Denied  []string
	// Unchecked: actions that could not be probed, with why.
	Unchecked map[string]string
	// Failed: the unchecked actions whose probe failed (network,
	// throttling, an outage), with the error.
	Failed map[string]error
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

// Preflight probes the actions o needs. It returns a *PermissionError when
// AWS denied any of them and an explained error when AWS rejected the
// credentials; other failures (network, throttling) leave the action
// unchecked, since the calls that follow report them better.
func (g *Group) Preflight(ctx context.Context, o PreflightOptions) (*PreflightReport, error) {
	rep := &PreflightReport{Unchecked: map[string]string{}, Failed: map[string]error{}}
	st := &probeState{}
	for _, action := range o.needed() {
		p, ok := probeFor(action)
		if !ok {
			rep.Unchecked[action] = "no probe for this action"
			continue
		}
		skip, err := p.probe(ctx, g, st)
		if skip != "" {
			rep.Unchecked[action] = skip
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
			rep.Failed[action] = err
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
