package ec2spot

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A plugin started after an old spot shortage reads its failed activities
// (logged once each) but does not hold new requests back for them; a
// failure of the current shortage does.
func TestOldCapacityFailuresDoNotHoldIncreaseBack(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f := newLaunchFailures(hclog.NewNullLogger(), func() time.Time { return now })
	spotCause := "Launching a new EC2 instance. Status Reason: There is no Spot capacity available that matches your request. Launching EC2 instance failed."
	f.handle(LaunchFailure{ActivityID: "old", Status: "Failed", Cause: spotCause, StartTime: now.Add(-48 * time.Hour)})
	if !f.holdUntil.IsZero() || f.capacityRun != 0 {
		t.Fatalf("a two-day-old failure holds Increase back until %v (run %d)", f.holdUntil, f.capacityRun)
	}
	f.handle(LaunchFailure{ActivityID: "new", Status: "Failed", Cause: spotCause, StartTime: now.Add(-10 * time.Second)})
	if !f.holdUntil.After(now) || f.capacityRun != 1 {
		t.Fatalf("a current failure does not hold Increase back: until %v (run %d)", f.holdUntil, f.capacityRun)
	}
}
