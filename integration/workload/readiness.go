package workload

import (
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Boot readiness (scenarios with a StatusCheckDelay): every job start is
// compared with when the simulator's status checks of its instance pass,
// and a job handed an instance before that is recorded.

// HandedUnready: Job started on Instance before its status checks passed;
// Wait is how long before.
const HandedUnready = "handed_unready"

// checkReady records a HandedUnready event for a job started on an
// instance that is not ready yet.
func (r *recorder) checkReady(e driver.Event) {
	if !r.readyChecks || e.Kind != driver.JobStarted || e.Instance == "" {
		return
	}
	at, ok := r.sim.StatusOKAt(e.Instance)
	if !ok || !e.At.Before(at) {
		return
	}
	r.add(Event{T: r.since(e.At), Kind: HandedUnready, Job: e.Job, Instance: e.Instance, Wait: at.Sub(e.At)})
}

// unreadyRow is the table row of HandedUnready counts, when measured.
func unreadyRow(sums []Summary) (string, []float64, bool) {
	measured := false
	n := make([]float64, 0, len(sums))
	for _, s := range sums {
		measured = measured || s.ReadyChecks
		n = append(n, float64(s.HandedUnready))
	}
	return "jobs handed an instance before its status checks passed", n, measured
}
