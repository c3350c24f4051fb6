package ec2spot

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

var allProbes = PreflightOptions{InstanceConnect: true, WindowsPasswords: true, GroupChanges: true, Queue: true, SynchronousLaunch: true}

func TestPreflightGrantedChangesNothing(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 1})
	waitMember(t, s, g)
	before := len(s.Instances())

	rep, err := g.Preflight(testCtx(t), allProbes)
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	want := slices.DeleteFunc(allProbes.needed(), func(a string) bool { return rep.Unchecked[a] != "" })
	if !slices.Equal(rep.Granted, want) || len(rep.Unchecked) != 4 {
		t.Errorf("granted %v unchecked %v, want all of %v", rep.Granted, rep.Unchecked, want)
	}
	grp, _ := s.Group("runners")
	if grp.Desired != 1 || len(s.Instances()) != before {
		t.Errorf("preflight changed the group: desired %d, instances %d (was %d)", grp.Desired, len(s.Instances()), before)
	}
	for _, inst := range s.Instances() {
		if inst.Lifecycle == "Terminating" || inst.State == "shutting-down" {
			t.Errorf("preflight terminated %s", inst.ID)
		}
	}
}

func TestPreflightNamesEveryDeniedActionOnce(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 1})
	waitMember(t, s, g)
	for _, f := range []awssim.Fault{
		{Service: "autoscaling", Action: "SetDesiredCapacity", Code: "AccessDenied", Status: 403, Message: "User is not authorized to perform: autoscaling:SetDesiredCapacity"},
		{Service: "autoscaling", Action: "TerminateInstanceInAutoScalingGroup", Code: "AccessDenied", Status: 403},
		{Service: "ec2", Action: "DescribeInstances", Code: "UnauthorizedOperation", Status: 403},
		{Service: "ec2-instance-connect", Action: "SendSSHPublicKey", Code: "AccessDeniedException", Status: 403},
	} {
		s.InjectFault(f)
	}
	_, err := g.Preflight(testCtx(t), allProbes)
	var perm *PermissionError
	if !errors.As(err, &perm) {
		t.Fatalf("want a PermissionError, got %v", err)
	}
	want := []string{ActionSetDesiredCapacity, ActionTerminateInstance, ActionDescribeInstances, ActionSendSSHPublicKey}
	if !slices.Equal(perm.Denied, want) {
		t.Errorf("denied %v, want %v", perm.Denied, want)
	}
	msg := err.Error()
	for _, w := range append(want, "missing IAM permissions", "IAM policy for the runner manager", `"runners"`) {
		if strings.Count(msg, w) != 1 {
			t.Errorf("message should name %q once:\n%s", w, msg)
		}
	}
}

func TestPreflightDeniedDescribeLeavesSetDesiredUnchecked(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3})
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "AccessDenied", Status: 403})
	_, err := g.Preflight(testCtx(t), PreflightOptions{InstanceConnect: true})
	var perm *PermissionError
	if !errors.As(err, &perm) || !slices.Equal(perm.Denied, []string{ActionDescribeAutoScalingGroups}) {
		t.Fatalf("want DescribeAutoScalingGroups denied, got %v", err)
	}
	for _, a := range []string{ActionSetDesiredCapacity, ActionSendSSHPublicKey} {
		if !strings.Contains(perm.Unchecked[a], "could not be described") {
			t.Errorf("%s: unchecked %q", a, perm.Unchecked[a])
		}
	}
	if n := s.CallCount("autoscaling", "SetDesiredCapacity"); n != 0 {
		t.Errorf("SetDesiredCapacity called %d times without a known desired capacity", n)
	}
	if !strings.Contains(err.Error(), "not checked: autoscaling:SetDesiredCapacity (the group could not be described)") {
		t.Errorf("message: %s", err)
	}
}

func TestPreflightWithoutMembersSkipsInstanceProbes(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3})
	rep, err := g.Preflight(testCtx(t), allProbes)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unchecked) != 6 || rep.Unchecked[ActionSendSSHPublicKey] != "no instance in the group yet" || rep.Unchecked[ActionGetPasswordData] == "" {
		t.Errorf("unchecked %v", rep.Unchecked)
	}
	if n := s.CallCount("ec2-instance-connect", "SendSSHPublicKey") + s.CallCount("ec2", "GetPasswordData"); n != 0 {
		t.Errorf("instance probes without members: %d calls", n)
	}
}

func TestPreflightBadCredentialsAndOutages(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 3})

	// An outage is no verdict: unchecked, no error.
	s.InjectFault(awssim.Fault{Service: "ec2", Action: "DescribeInstances", Code: "InternalError"})
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribePolicies", Code: "Throttling"})
	rep, err := g.Preflight(testCtx(t), PreflightOptions{})
	if err != nil {
		t.Fatalf("outage: %v", err)
	}
	if !strings.HasPrefix(rep.Unchecked[ActionDescribeInstances], "probe failed") || !strings.HasPrefix(rep.Unchecked[ActionDescribePolicies], "probe failed") {
		t.Errorf("unchecked %v", rep.Unchecked)
	}
	s.ClearFaults()

	s.ExpireCredentials("AKIDSIMTEST0000000000", true)
	_, err = g.Preflight(testCtx(t), PreflightOptions{})
	var perm *PermissionError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "AWS rejected the credentials") {
		t.Fatalf("expired credentials: %v", err)
	}
}

// waitMember waits for the member the instance-level probes use.
func waitMember(t *testing.T, s *awssim.Sim, g *Group) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.Instances()) == 0; time.Sleep(10 * time.Millisecond) {
		if _, _, err := g.Refresh(testCtx(t)); err != nil || time.Now().After(deadline) {
			t.Fatalf("no member launched: %v", err)
		}
	}
}
