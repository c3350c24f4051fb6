package ec2spot

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

func TestClassifyEveryLifecycleState(t *testing.T) {
	want := map[types.LifecycleState]Phase{
		types.LifecycleStatePending:                    PhaseLaunching,
		types.LifecycleStatePendingWait:                PhaseLaunching,
		types.LifecycleStatePendingProceed:             PhaseLaunching,
		types.LifecycleStateQuarantined:                PhaseQuarantined,
		types.LifecycleStateInService:                  PhaseInService,
		types.LifecycleStateTerminating:                PhaseTerminating,
		types.LifecycleStateTerminatingWait:            PhaseTerminating,
		types.LifecycleStateTerminatingProceed:         PhaseTerminating,
		types.LifecycleStateTerminatingRetained:        PhaseRetained,
		types.LifecycleStateTerminated:                 PhaseTerminated,
		types.LifecycleStateDetaching:                  PhaseDetaching,
		types.LifecycleStateDetached:                   PhaseDetaching,
		types.LifecycleStateEnteringStandby:            PhaseStandby,
		types.LifecycleStateStandby:                    PhaseStandby,
		types.LifecycleStateReplacingRootVolume:        PhaseReplacingRootVolume,
		types.LifecycleStateReplacingRootVolumeWait:    PhaseReplacingRootVolume,
		types.LifecycleStateReplacingRootVolumeProceed: PhaseReplacingRootVolume,
		types.LifecycleStateRootVolumeReplaced:         PhaseReplacingRootVolume,
		types.LifecycleStateWarmedPending:              PhaseWarmPool,
		types.LifecycleStateWarmedPendingWait:          PhaseWarmPool,
		types.LifecycleStateWarmedPendingProceed:       PhaseWarmPool,
		types.LifecycleStateWarmedPendingRetained:      PhaseWarmPool,
		types.LifecycleStateWarmedTerminating:          PhaseWarmPool,
		types.LifecycleStateWarmedTerminatingWait:      PhaseWarmPool,
		types.LifecycleStateWarmedTerminatingProceed:   PhaseWarmPool,
		types.LifecycleStateWarmedTerminatingRetained:  PhaseWarmPool,
		types.LifecycleStateWarmedTerminated:           PhaseWarmPool,
		types.LifecycleStateWarmedStopped:              PhaseWarmPool,
		types.LifecycleStateWarmedRunning:              PhaseWarmPool,
		types.LifecycleStateWarmedHibernated:           PhaseWarmPool,
	}
	// Every state the SDK knows is covered: a new SDK state fails here.
	for _, s := range types.LifecycleState("").Values() {
		if _, ok := want[s]; !ok {
			t.Errorf("SDK lifecycle state %q has no expected phase in this test", s)
		}
	}
	for s, p := range want {
		if got := Classify(s); got != p {
			t.Errorf("Classify(%q) = %v, want %v", s, got, p)
		}
	}
	if got := Classify("SomethingNew:Wait"); got != PhaseUnknown {
		t.Errorf("unknown state classified as %v", got)
	}
}

func TestPhaseStringsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for p := PhaseUnknown; p <= PhaseReplacingRootVolume; p++ {
		s := p.String()
		if s == "invalid" || seen[s] {
			t.Errorf("phase %d has string %q", p, s)
		}
		seen[s] = true
	}
}
