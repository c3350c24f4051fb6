package provider

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// status shows Update's own mapping, with the reason Update logs.
func TestReportedStateIsUpdatesMapping(t *testing.T) {
	doomed := ec2spot.Verdict{Deleting: true, Unhealthy: true, Reason: "spot_interruption (marked-for-termination) via spot_request"}
	for _, tc := range []struct {
		lifecycle types.LifecycleState
		verdict   ec2spot.Verdict
		state     string
		reported  bool
		why       string
	}{
		{types.LifecycleStateInService, ec2spot.Verdict{}, "running", true, "in service"},
		{types.LifecycleStatePending, ec2spot.Verdict{}, "creating", true, "launching"},
		{types.LifecycleStatePending, doomed, "deleting", true, "AWS is taking it: spot_interruption"},
		{types.LifecycleStateInService, doomed, "deleting", true, "AWS is taking it"},
		{types.LifecycleStateTerminatingWait, ec2spot.Verdict{}, "deleting", true, "leaving the group"},
		{types.LifecycleStateTerminatingRetained, ec2spot.Verdict{}, "deleting", true, "the plugin terminates it"},
		{types.LifecycleStateStandby, doomed, "", false, "in standby"},
		{types.LifecycleStateWarmedRunning, ec2spot.Verdict{}, "", false, "warm-pool instance"},
		{"Frobnicating", ec2spot.Verdict{}, "creating", true, "unknown lifecycle state"},
	} {
		inst := ec2spot.Instance{ID: "i-1", LifecycleState: tc.lifecycle, Phase: ec2spot.Classify(tc.lifecycle)}
		state, reported, why := ReportedState(inst, tc.verdict)
		if state != tc.state || reported != tc.reported || !strings.Contains(why, tc.why) {
			t.Errorf("%s %+v: %q %v %q, want %q %v containing %q", tc.lifecycle, tc.verdict, state, reported, why, tc.state, tc.reported, tc.why)
		}
		// The same as Update reports.
		if st, ok := stateFor(hclog.NewNullLogger(), inst); ok != reported || (ok && string(verdictState(tc.verdict, st)) != state) {
			t.Errorf("%s: Update maps to %q %v, status says %q %v", tc.lifecycle, st, ok, state, reported)
		}
	}
}
