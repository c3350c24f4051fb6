package awssim

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The typed reader decodes the SDK's awsquery encoding (lists as
// Name.member.N, structures as Name.Member) and collects every problem.
func TestParamsReader(t *testing.T) {
	v, err := url.ParseQuery("Names.member.1=a&Names.member.2=b&Empty=&" +
		"Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2&" +
		"N=7&BadN=seven&B=true&BadB=maybe&" +
		"MixedInstancesPolicy.LaunchTemplate.Overrides.member.2.WeightedCapacity=x")
	if err != nil {
		t.Fatal(err)
	}
	q := newParams(v)
	if got := q.List("Names"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("List = %q", got)
	}
	if got := q.List("Empty"); got != nil || !q.Has("Empty") {
		t.Errorf("empty list = %q, sent %v", got, q.Has("Empty"))
	}
	if got := q.Members("Tags"); !reflect.DeepEqual(got, []string{"Tags.member.1.", "Tags.member.2."}) {
		t.Errorf("Members = %q", got)
	}
	if n, ok := q.Int("N"); n != 7 || !ok {
		t.Errorf("Int = %d, %v", n, ok)
	}
	if b, ok := q.Bool("B"); !b || !ok {
		t.Errorf("Bool = %v, %v", b, ok)
	}
	if q.Err() != nil {
		t.Fatalf("no problem yet: %v", q.Err())
	}
	q.Int("BadN")
	q.Bool("BadB")
	q.Required("Missing")
	q.RequiredInt("MissingN")
	q.Int("MixedInstancesPolicy.LaunchTemplate.Overrides.member.2.WeightedCapacity")
	e := q.Err()
	if e == nil || e.Code != "ValidationError" || e.Status != 400 {
		t.Fatalf("Err = %+v", e)
	}
	for _, want := range []string{
		"5 validation errors detected: ",
		"Value 'seven' at 'badN' failed to satisfy constraint: Member must be an integer",
		"Value 'maybe' at 'badB' failed to satisfy constraint: Member must be a boolean",
		"Value null at 'missing' failed to satisfy constraint: Member must not be null",
		"Value null at 'missingN'",
		"at 'mixedInstancesPolicy.launchTemplate.overrides.weightedCapacity'",
	} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("Err %q lacks %q", e.Message, want)
		}
	}
}
