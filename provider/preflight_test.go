package provider

import (
	"strings"
	"testing"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func denyAccess(s *awssim.Sim, service, action string) {
	code := "AccessDenied"
	if service == "ec2" {
		code = "UnauthorizedOperation"
	}
	s.InjectFault(awssim.Fault{Service: service, Action: action, Code: code, Status: 403,
		Message: "User: arn:aws:sts::123456789012:assumed-role/runner is not authorized to perform: " + service + ":" + action})
}

func TestInitNamesEveryDeniedActionInOneError(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3}); err != nil {
		t.Fatal(err)
	}
	denyAccess(s, "autoscaling", "DescribePolicies")
	denyAccess(s, "autoscaling", "TerminateInstanceInAutoScalingGroup")
	denyAccess(s, "ec2", "DescribeInstances")
	p := newPlugin(t, map[string]any{"name": "runners"})
	_, err := p.Init(testCtx(t), p.logger(), provider.Settings{})
	if err == nil {
		t.Fatal("Init succeeded with denied actions")
	}
	msg := err.Error()
	for _, w := range []string{"missing IAM permissions", "autoscaling:DescribePolicies", "autoscaling:TerminateInstanceInAutoScalingGroup",
		"ec2:DescribeInstances", "IAM policy for the runner manager"} {
		if strings.Count(msg, w) != 1 {
			t.Errorf("error should name %q once:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "autoscaling:SetDesiredCapacity") {
		t.Errorf("granted action named:\n%s", msg)
	}
}

func TestInitFailsWhenOnlyTerminateIsDenied(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3}); err != nil {
		t.Fatal(err)
	}
	denyAccess(s, "autoscaling", "TerminateInstanceInAutoScalingGroup")
	p := newPlugin(t, map[string]any{"name": "runners"})
	_, err := p.Init(testCtx(t), p.logger(), provider.Settings{})
	if err == nil || !strings.Contains(err.Error(), "AWS denied autoscaling:TerminateInstanceInAutoScalingGroup to the runner manager's identity") {
		t.Fatalf("Init: %v", err)
	}
	if _, _, rerr := p.ready(); rerr == nil {
		t.Error("a failed Init left the group initialised")
	}
}

func TestInitWithAllPermissionsProbesOnlyTerminate(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3}, provider.Settings{})
	_ = p
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 1 {
		t.Errorf("terminate probes = %d, want 1", n)
	}
	for _, c := range []string{"autoscaling:SetDesiredCapacity", "ec2:DescribeInstances", "ec2-instance-connect:SendSSHPublicKey"} {
		if n := s.Calls()[c]; n != 0 {
			t.Errorf("%s called %d times by a successful Init", c, n)
		}
	}
}
