package admin

import (
	_ "embed"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The runner manager's IAM policy: a copy of the README's (a test keeps
// them equal), with placeholders REGION, ACCOUNT_ID, GROUP_NAME and, for
// the interruption queue, QUEUE_NAME (or QUEUE_ARN).
//
//go:embed iam-policy.json
var runnerPolicyTemplate string

// PolicyStatement is one statement of an IAM policy.
type PolicyStatement struct {
	Sid       string          `json:"Sid,omitempty"`
	Effect    string          `json:"Effect"`
	Action    []string        `json:"Action"`
	Resource  any             `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// RunnerPolicy returns the runner manager's policy for a group. Unknown
// values (account "" before the group exists) keep their placeholder. With
// a queue the plugin also needs to consume it; without one, queue
// statements are dropped.
func RunnerPolicy(region, account, group, queueARN string) (Policy, error) {
	queueName := ""
	if f := strings.Split(queueARN, ":"); len(f) == 6 { // arn:aws:sqs:REGION:ACCOUNT:NAME
		queueName = f[5]
		if account == "" {
			account = f[4]
		}
	}
	var pairs []string
	for _, kv := range [][2]string{{"REGION", region}, {"ACCOUNT_ID", account}, {"GROUP_NAME", group}, {"QUEUE_ARN", queueARN}, {"QUEUE_NAME", queueName}} {
		if kv[1] != "" {
			pairs = append(pairs, kv[0], kv[1])
		}
	}
	r := strings.NewReplacer(pairs...)
	var p Policy
	if err := json.Unmarshal([]byte(r.Replace(runnerPolicyTemplate)), &p); err != nil {
		return Policy{}, err
	}
	var kept []PolicyStatement
	hasQueue := false
	for _, st := range p.Statement {
		if allSQS(st.Action) {
			if queueARN == "" {
				continue
			}
			hasQueue = true
		}
		kept = append(kept, st)
	}
	if queueARN != "" && !hasQueue {
		kept = append(kept, PolicyStatement{Sid: "ConsumeInterruptionQueue", Effect: "Allow",
			Action: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, Resource: queueARN})
	}
	p.Statement = kept
	// Calls the plugin makes that the README policy does not list yet (a
	// test in ec2spot keeps them equal; until then nobody is left short).
	var onGroup, anywhere []string
	for _, a := range PluginActions() {
		switch {
		case slices.Contains(p.Actions(), a) || strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "?:"):
		case strings.HasPrefix(a, "autoscaling:") && !isRead(a):
			onGroup = append(onGroup, a) // changes: this group only
		default:
			anywhere = append(anywhere, a)
		}
	}
	if len(onGroup) > 0 {
		groupARN := r.Replace("arn:aws:autoscaling:REGION:ACCOUNT_ID:autoScalingGroup:*:autoScalingGroupName/GROUP_NAME")
		p.Statement = append(p.Statement, PolicyStatement{Sid: "OtherPluginCallsOnTheGroup", Effect: "Allow", Action: onGroup, Resource: groupARN})
	}
	if len(anywhere) > 0 {
		p.Statement = append(p.Statement, PolicyStatement{Sid: "OtherPluginCalls", Effect: "Allow", Action: anywhere, Resource: "*"})
	}
	return p, nil
}

func isRead(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, verb := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(name, verb) {
			return true
		}
	}
	return false
}

// pluginPrefixes maps the plugin's client interfaces to IAM prefixes.
var pluginPrefixes = map[string]string{
	"AutoScalingAPI": "autoscaling", "EC2API": "ec2", "InstanceConnectAPI": "ec2-instance-connect", "SQSAPI": "sqs",
}

// PluginActions are the IAM actions of every call the running plugin can
// make: the methods of ec2spot.Clients' interfaces ("?:Method" for an
// interface this list does not know).
func PluginActions() []string {
	var out []string
	t := reflect.TypeOf(ec2spot.Clients{})
	for i := range t.NumField() {
		f := t.Field(i).Type
		if f.Kind() != reflect.Interface {
			continue
		}
		prefix, ok := pluginPrefixes[f.Name()]
		if !ok {
			prefix = "?"
		}
		for m := range f.NumMethod() {
			out = append(out, prefix+":"+f.Method(m).Name)
		}
	}
	return out
}

func allSQS(actions []string) bool {
	for _, a := range actions {
		if !strings.HasPrefix(a, "sqs:") {
			return false
		}
	}
	return len(actions) > 0
}

// Actions lists a policy's actions in order.
func (p Policy) Actions() []string {
	var out []string
	for _, st := range p.Statement {
		out = append(out, st.Action...)
	}
	return out
}

// JSON is the indented document.
func (p Policy) JSON() string {
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

// SetupActions are the IAM actions setup itself needs (for whoever runs
// it, not the runner manager). A test keeps them equal to the clients'
// methods that setup calls, plus what AWS checks behind them.
var SetupActions = []string{
	"autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags", "autoscaling:DeletePolicy",
	"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribePolicies",
	"autoscaling:PutLifecycleHook", "autoscaling:SetInstanceProtection",
	"autoscaling:SuspendProcesses", "autoscaling:UpdateAutoScalingGroup",
	"ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateTags", "ec2:DescribeImages",
	"ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates",
	"ec2:DescribeSubnets", "ec2:RunInstances",
	"events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets",
	"iam:CreateServiceLinkedRole", "iam:PassRole",
	"sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SetQueueAttributes", "sqs:TagQueue",
}
