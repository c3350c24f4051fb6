package ec2spot_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// iamPrefix maps each client interface in ec2spot.Clients to its IAM
// service prefix. A new interface needs a line here and its actions in the
// README policy.
var iamPrefix = map[string]string{
	"AutoScalingAPI":     "autoscaling",
	"EC2API":             "ec2",
	"InstanceConnectAPI": "ec2-instance-connect",
	"SQSAPI":             "sqs",
}

// The README's IAM policy must list exactly the AWS calls the code can
// make: the methods of the narrow client interfaces, which are the only way
// the plugin reaches AWS. A missing action fails users at run time, an extra
// one grants more than needed.
func TestREADMEPolicyListsExactlyTheCallsTheCodeMakes(t *testing.T) {
	var want []string
	clients := reflect.TypeOf(ec2spot.Clients{})
	for i := range clients.NumField() {
		f := clients.Field(i)
		if f.Type.Kind() != reflect.Interface {
			continue
		}
		prefix, ok := iamPrefix[f.Type.Name()]
		if !ok {
			t.Fatalf("ec2spot.Clients.%s has type %s with no IAM prefix in this test: add it", f.Name, f.Type.Name())
		}
		for m := range f.Type.NumMethod() {
			want = append(want, prefix+":"+f.Type.Method(m).Name)
		}
	}
	sort.Strings(want)

	block, err := readme.BlockAfter("<!-- iam-policy -->")
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(block), &policy); err != nil {
		t.Fatalf("README IAM policy is not valid JSON: %v", err)
	}
	var got []string
	for _, st := range policy.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement with effect %q: the policy should only allow", st.Effect)
		}
		got = append(got, st.Action...)
	}
	sort.Strings(got)
	if dup := slices.Compact(slices.Clone(got)); len(dup) != len(got) {
		t.Errorf("README IAM policy lists an action twice: %v", got)
	}
	if !slices.Equal(got, want) {
		t.Errorf("README IAM policy actions differ from the calls the code makes\n README: %v\n code:   %v", got, want)
	}
}
