package ec2spot

import "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

// Phase classifies an Auto Scaling lifecycle state by what it means for a
// CI instance. The provider maps each phase onto a fleeting state.
type Phase int

const (
	// PhaseUnknown: a state this plugin does not know (a newer AWS
	// feature). The instance is in the group and probably bills.
	PhaseUnknown Phase = iota
	// PhaseLaunching: Pending, Pending:Wait, Pending:Proceed. Billing runs.
	PhaseLaunching
	// PhaseInService: InService.
	PhaseInService
	// PhaseQuarantined: Quarantined, a rare transitional state.
	PhaseQuarantined
	// PhaseTerminating: Terminating, Terminating:Wait, Terminating:Proceed.
	PhaseTerminating
	// PhaseRetained: Terminating:Retained. Kept after an abandoned
	// termination hook; bills until terminated explicitly.
	PhaseRetained
	// PhaseTerminated: Terminated, about to leave the group.
	PhaseTerminated
	// PhaseStandby: EnteringStandby, Standby. Taken out of service by an
	// operator; still billing.
	PhaseStandby
	// PhaseDetaching: Detaching, Detached. Leaving the group; an operator
	// took it over.
	PhaseDetaching
	// PhaseWarmPool: Warmed:*. Warm-pool instances are never handed out.
	PhaseWarmPool
	// PhaseReplacingRootVolume: ReplacingRootVolume*, RootVolumeReplaced.
	PhaseReplacingRootVolume
)

var phaseNames = [...]string{
	PhaseUnknown:             "unknown",
	PhaseLaunching:           "launching",
	PhaseInService:           "in_service",
	PhaseQuarantined:         "quarantined",
	PhaseTerminating:         "terminating",
	PhaseRetained:            "retained",
	PhaseTerminated:          "terminated",
	PhaseStandby:             "standby",
	PhaseDetaching:           "detaching",
	PhaseWarmPool:            "warm_pool",
	PhaseReplacingRootVolume: "replacing_root_volume",
}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return "invalid"
	}
	return phaseNames[p]
}

// Classify maps an Auto Scaling lifecycle state onto its phase.
func Classify(s types.LifecycleState) Phase {
	switch s {
	case types.LifecycleStatePending, types.LifecycleStatePendingWait, types.LifecycleStatePendingProceed:
		return PhaseLaunching
	case types.LifecycleStateInService:
		return PhaseInService
	case types.LifecycleStateQuarantined:
		return PhaseQuarantined
	case types.LifecycleStateTerminating, types.LifecycleStateTerminatingWait, types.LifecycleStateTerminatingProceed:
		return PhaseTerminating
	case types.LifecycleStateTerminatingRetained:
		return PhaseRetained
	case types.LifecycleStateTerminated:
		return PhaseTerminated
	case types.LifecycleStateEnteringStandby, types.LifecycleStateStandby:
		return PhaseStandby
	case types.LifecycleStateDetaching, types.LifecycleStateDetached:
		return PhaseDetaching
	case types.LifecycleStateWarmedPending, types.LifecycleStateWarmedPendingWait,
		types.LifecycleStateWarmedPendingProceed, types.LifecycleStateWarmedPendingRetained,
		types.LifecycleStateWarmedTerminating, types.LifecycleStateWarmedTerminatingWait,
		types.LifecycleStateWarmedTerminatingProceed, types.LifecycleStateWarmedTerminatingRetained,
		types.LifecycleStateWarmedTerminated, types.LifecycleStateWarmedStopped,
		types.LifecycleStateWarmedRunning, types.LifecycleStateWarmedHibernated:
		return PhaseWarmPool
	case types.LifecycleStateReplacingRootVolume, types.LifecycleStateReplacingRootVolumeWait,
		types.LifecycleStateReplacingRootVolumeProceed, types.LifecycleStateRootVolumeReplaced:
		return PhaseReplacingRootVolume
	default:
		return PhaseUnknown
	}
}

// CountsTowardDesired reports whether an instance in this phase fills a
// unit of the group's desired capacity (so raising desired by n launches n
// more on top of it).
func (p Phase) CountsTowardDesired() bool {
	switch p {
	case PhaseLaunching, PhaseInService, PhaseQuarantined, PhaseReplacingRootVolume, PhaseUnknown:
		return true
	case PhaseTerminating, PhaseRetained, PhaseTerminated, PhaseStandby, PhaseDetaching, PhaseWarmPool:
		return false
	default:
		return false
	}
}
