package workload

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Compare runs the scenario in each mode against its own simulator, all at
// once when parallel (halves the wall time; the modes then share the CPU).
func Compare(ctx context.Context, sc Scenario, modes []Mode, opt Options, parallel bool) ([]*Result, error) {
	results := make([]*Result, len(modes))
	errs := make([]error, len(modes))
	if parallel && opt.Progress != nil {
		// Both modes write progress lines to the one writer at once.
		opt.Progress = &lockedWriter{w: opt.Progress}
	}
	var wg sync.WaitGroup
	for i, m := range modes {
		run := func() { results[i], errs[i] = Run(ctx, sc, m, opt) }
		if parallel {
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		} else {
			run()
		}
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// lockedWriter serialises writes from concurrent runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
