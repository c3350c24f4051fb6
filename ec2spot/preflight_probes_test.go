package ec2spot

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The probe table has one row per IAM action the code can call (the
// methods of the narrow client interfaces, which the README policy lists
// exactly: TestREADMEPolicyListsExactlyTheCallsTheCodeMakes), so Init's
// preflight and doctor cover the whole policy. Each row says how it is
// probed or why not, and why a config may not need it.
func TestProbeTableHasEveryActionTheCodeCalls(t *testing.T) {
	prefixes := map[string]string{"AutoScalingAPI": "autoscaling", "EC2API": "ec2", "InstanceConnectAPI": "ec2-instance-connect", "SQSAPI": "sqs"}
	var calls []string
	clients := reflect.TypeOf(Clients{})
	for i := range clients.NumField() {
		f := clients.Field(i).Type
		if f.Kind() != reflect.Interface {
			continue
		}
		for m := range f.NumMethod() {
			calls = append(calls, prefixes[f.Name()]+":"+f.Method(m).Name)
		}
	}
	var table []string
	for _, p := range PermissionProbes {
		table = append(table, p.Action)
		switch {
		case p.How == "":
			t.Errorf("%s: the table does not say how it is probed", p.Action)
		case p.AtInit == NotProbed && !strings.HasPrefix(p.How, "not probed"):
			t.Errorf("%s is not probed, but How says %q", p.Action, p.How)
		case p.AtInit != NotProbed && strings.HasPrefix(p.How, "not probed"):
			t.Errorf("%s is probed, but How says %q", p.Action, p.How)
		}
		if !p.needed(PreflightOptions{}) && p.Unneeded == "" {
			t.Errorf("%s: a config may not need it, but the table does not say why", p.Action)
		}
	}
	sort.Strings(calls)
	sort.Strings(table)
	if !slices.Equal(calls, table) {
		t.Errorf("probe table %v\ncode calls  %v", table, calls)
	}
}

// A successful Init probes only the EveryInit rows its config needs.
func TestEveryInitActions(t *testing.T) {
	if got := (PreflightOptions{InstanceConnect: true}).EveryInit(); !slices.Equal(got, []string{ActionTerminateInstance}) {
		t.Errorf("default config: %v", got)
	}
	if got := (PreflightOptions{StatusChecks: true}).EveryInit(); !slices.Equal(got, []string{ActionTerminateInstance, ActionDescribeInstanceStatus}) {
		t.Errorf("ready_when = status-ok: %v", got)
	}
}

// Rows that would act on a probe are the ones not probed: a not-probed row
// never calls AWS, whatever the group holds.
func TestNotProbedRowsMakeNoCall(t *testing.T) {
	for _, p := range PermissionProbes {
		if p.AtInit != NotProbed {
			continue
		}
		skip, err := p.probe(t.Context(), &Group{}, &probeState{described: true, member: "i-0123456789abcdef0"})
		if skip == "" || err != nil {
			t.Errorf("%s: not probed, but its probe ran (skip %q, err %v)", p.Action, skip, err)
		}
	}
}
