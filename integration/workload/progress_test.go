package workload

import (
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// The progress line names every figure as name=value: "on-demand 0 up 1
// new" read as label-then-number and number-then-label at once.
func TestProgressLineNamesEveryFigure(t *testing.T) {
	s := &Sample{Instances: map[string]int{
		"on-demand/running": 1, "on-demand/creating": 2,
		"spot/running": 3, "spot/noticed": 4, "spot/creating": 5,
		"spot/terminating": 6, "on-demand/terminating": 1,
	}, Queued: 8, Running: 9}
	got := progressLine("default", Ours, 90*time.Second, s, driver.Stats{Done: 10, Failed: 11})
	want := "[default ours            1:30] on-demand: up=1 booting=2 | spot: up=3 noticed=4 booting=5 | terminating=7 | jobs: queued=8 running=9 done=10 failed=11"
	if got != want {
		t.Errorf("progress line\n got %s\nwant %s", got, want)
	}
}
