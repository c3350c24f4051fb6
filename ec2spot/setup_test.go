package ec2spot

import (
	"strings"
	"testing"
)

func goodSnapshot() *Snapshot {
	return &Snapshot{
		Name: "runners", MaxSize: 10,
		NewInstancesProtectedFromScaleIn: true,
		SuspendedProcesses:               []string{"AZRebalance"},
		Weights:                          map[string]string{},
		byID:                             map[string]int{},
	}
}

func checks(f []Finding) map[string]Severity {
	m := map[string]Severity{}
	for _, x := range f {
		m[x.Check] = x.Severity
	}
	return m
}

func TestCheckSetupGoodGroup(t *testing.T) {
	if f := checkSetup(goodSnapshot(), nil); len(f) != 0 {
		t.Fatalf("findings for a good group: %v", f)
	}
}

func TestCheckSetupReportsEverything(t *testing.T) {
	s := &Snapshot{
		Name: "runners", MinSize: 1, MaxSize: 0, DesiredCapacityType: "vcpu",
		CapacityRebalance: true, MaxInstanceLifetime: 86400, WarmPool: true,
		Weights: map[string]string{"m5.large": "2", "c5.large": "1"},
		byID:    map[string]int{},
	}
	f := checkSetup(s, []string{"cpu-target"})
	want := map[string]Severity{
		CheckScaleInProtection: SeverityError, CheckAZRebalance: SeverityError, CheckScalingPolicies: SeverityError,
		CheckMinSize: SeverityError, CheckWeightedCapacity: SeverityError, CheckDesiredCapacityType: SeverityError,
		CheckCapacityRebalance: SeverityWarning, CheckMaxSize: SeverityWarning, CheckMaxInstanceLifetime: SeverityWarning,
		CheckWarmPool: SeverityWarning,
	}
	got := checks(f)
	for c, sev := range want {
		if g, ok := got[c]; !ok || g != sev {
			t.Errorf("check %s: got %v (present %v), want %v", c, g, ok, sev)
		}
	}
	for _, x := range f {
		if x.Problem == "" || !strings.Contains(x.Fix, "runners") && x.Check != CheckWeightedCapacity {
			t.Errorf("finding %s lacks problem or a fix naming the group: %+v", x.Check, x)
		}
	}
	if !strings.Contains(f[0].Error(), "scale_in_protection: scale-in protection is off") {
		t.Errorf("first finding: %v", f[0])
	}
}

func TestCheckSetupUnprotectedInstances(t *testing.T) {
	s := goodSnapshot()
	s.Instances = []Instance{{ID: "i-1", Phase: PhaseInService}, {ID: "i-2", Phase: PhaseInService, Protected: true}, {ID: "i-3", Phase: PhaseTerminating}}
	f := checkSetup(s, nil)
	if len(f) != 1 || f[0].Check != CheckUnprotectedInstances || !strings.Contains(f[0].Fix, "--instance-ids i-1") || strings.Contains(f[0].Fix, "i-3") {
		t.Fatalf("findings: %v", f)
	}
}
