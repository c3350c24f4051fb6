package provider

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Mapping the members of a snapshot allocates nothing in the common
// phases: an Update's cost must not grow with the group beyond the
// snapshot itself.
func TestStateForAllocatesNothing(t *testing.T) {
	log := hclog.NewNullLogger()
	for _, phase := range []ec2spot.Phase{ec2spot.PhaseLaunching, ec2spot.PhaseInService, ec2spot.PhaseTerminating} {
		inst := ec2spot.Instance{ID: "i-0123456789abcdef0", LifecycleState: "InService", Phase: phase}
		if n := testing.AllocsPerRun(100, func() { stateFor(log, inst) }); n != 0 {
			t.Errorf("%v: %v allocations per member", phase, n)
		}
	}
}
