package faults_test

import (
	"sync"
	"testing"
)

// suiteStats are the suite's figures for the README.
type suiteStats struct {
	mu                                   sync.Mutex
	scenarios, faults, instances, losses int
}

func (s *suiteStats) add(instances, faults, losses int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scenarios++
	s.instances += instances
	s.faults += faults
	s.losses += losses
}

// TestFaultSuite runs every scenario against its own simulator and plugin
// process; each ends with the same invariants (env.finish).
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the plugin binary through many scenarios")
	}
	stats := &suiteStats{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, stats) })
	}
	t.Logf("fault suite: %d scenarios, %d injected faults, %d instances, %d losses",
		stats.scenarios, stats.faults, stats.instances, stats.losses)
}
