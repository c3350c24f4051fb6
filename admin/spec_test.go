package admin_test

import (
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
)

// Every invalid setting is reported at once, naming its flag.
func TestSpecValidateReportsEveryFlag(t *testing.T) {
	s := admin.Spec{
		Name: "bad:name", LaunchTemplate: "x", ImageID: "image", InstanceTypes: []string{"m5.large", "m5.large"},
		Subnets: []string{"net-1"}, SecurityGroups: []string{"group"}, OnDemandBase: -1, OnDemandPercentage: 101,
		SpotAllocationStrategy: "cheapest", InterruptionQueue: "bad queue", UserData: make([]byte, 20000),
		Tags: map[string]string{"aws:x": "y"},
	}
	err := s.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, flag := range []string{"--name", "--launch-template", "--ami", "--instance-types: listed twice", "--subnets", "--security-groups",
		"--on-demand-base", "--on-demand-percentage", "--spot-allocation-strategy", "--max-size", "--interruption-queue", "--user-data", "--tag"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("no problem reported for %s:\n%v", flag, err)
		}
	}
}
