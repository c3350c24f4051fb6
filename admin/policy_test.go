package admin_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// The policy setup prints is the README's: when the README policy changes,
// copy its block into admin/iam-policy.json.
func TestEmbeddedPolicyIsTheREADMEs(t *testing.T) {
	block, err := readme.BlockAfter("<!-- iam-policy -->")
	if err != nil {
		t.Fatal(err)
	}
	var fromREADME, embedded any
	if err := json.Unmarshal([]byte(block), &fromREADME); err != nil {
		t.Fatalf("README policy: %v", err)
	}
	if err := json.Unmarshal([]byte(admin.PolicyTemplate), &embedded); err != nil {
		t.Fatalf("embedded policy: %v", err)
	}
	if !reflect.DeepEqual(fromREADME, embedded) {
		t.Fatalf("admin/iam-policy.json differs from the README's IAM policy: copy the README block (after <!-- iam-policy -->) into it")
	}
}

func TestRunnerPolicyFillsPlaceholders(t *testing.T) {
	p, err := admin.RunnerPolicy("eu-west-1", "111122223333", "ci", "arn:aws:sqs:eu-west-1:111122223333:ci-events")
	if err != nil {
		t.Fatal(err)
	}
	doc := p.JSON()
	for _, placeholder := range []string{"REGION", "ACCOUNT_ID", "GROUP_NAME", "QUEUE_ARN", "QUEUE_NAME"} {
		if strings.Contains(doc, placeholder) {
			t.Errorf("placeholder %s left in:\n%s", placeholder, doc)
		}
	}
	if !slices.Contains(p.Actions(), "sqs:ReceiveMessage") || !slices.Contains(p.Actions(), "sqs:DeleteMessage") {
		t.Errorf("queue actions missing: %v", p.Actions())
	}
	noQueue, _ := admin.RunnerPolicy("eu-west-1", "", "ci", "")
	for _, a := range noQueue.Actions() {
		if strings.HasPrefix(a, "sqs:") {
			t.Errorf("queue action %s without a queue", a)
		}
	}
	if !strings.Contains(noQueue.JSON(), "ACCOUNT_ID") {
		t.Errorf("an unknown account should keep its placeholder")
	}
}

// SetupActions, printed for admins, cover every call setup and doctor
// make besides the runner policy's (probed as the runner).
func TestSetupActionsCoverTheClients(t *testing.T) {
	prefix := map[string]string{"AutoScalingAPI": "autoscaling", "EC2API": "ec2", "SQSAPI": "sqs", "EventsAPI": "events", "InstanceConnectAPI": "ec2-instance-connect"}
	runner, _ := admin.RunnerPolicy("r", "a", "g", "q")
	doctorOnly := []string{"autoscaling:DescribeScalingActivities", "ec2:DescribeSpotInstanceRequests", "events:ListRuleNamesByTarget"}
	clients := reflect.TypeOf(admin.Clients{})
	for i := range clients.NumField() {
		f := clients.Field(i).Type
		p, ok := prefix[f.Name()]
		if !ok {
			t.Fatalf("no IAM prefix for %s", f.Name())
		}
		for m := range f.NumMethod() {
			action := p + ":" + f.Method(m).Name
			if !slices.Contains(admin.SetupActions, action) && !slices.Contains(runner.Actions(), action) && !slices.Contains(doctorOnly, action) {
				t.Errorf("%s is called but neither in SetupActions nor in the runner policy", action)
			}
		}
	}
	for _, a := range admin.MutatingActions {
		if !slices.Contains(admin.SetupActions, a) {
			t.Errorf("mutating %s missing from SetupActions", a)
		}
	}
}

// Whatever the README lists, the printed policy grants every call the
// plugin's code can make, mutating Auto Scaling calls on the group only.
func TestRunnerPolicyCoversThePluginsCalls(t *testing.T) {
	p, err := admin.RunnerPolicy("eu-west-1", "111122223333", "ci", "arn:aws:sqs:eu-west-1:111122223333:q")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range admin.PluginActions() {
		if strings.HasPrefix(a, "?:") {
			t.Errorf("%s: an ec2spot client interface without an IAM prefix in admin.pluginPrefixes", a)
			continue
		}
		if !slices.Contains(p.Actions(), a) {
			t.Errorf("the printed policy lacks %s", a)
		}
	}
	for _, st := range p.Statement {
		if st.Sid == "OtherPluginCallsOnTheGroup" && st.Resource != "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:*:autoScalingGroupName/ci" {
			t.Errorf("group statement resource %v", st.Resource)
		}
	}
}
