// Package workload runs what-if scenarios: a workload of CI jobs and AWS
// trouble (spot interruptions, capacity outages, throttling, slow boots)
// against the simulated AWS, through the job driver, once with our plugin
// binary and once with the official-like group, and reports job wait,
// failures, cost and API calls side by side.
package workload

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JobSpec is one job of a workload: when it arrives (since the start) and
// how long it runs, in simulated time.
type JobSpec struct {
	At, Duration time.Duration
}

// Workload generates the jobs of a run; the same seed gives the same jobs,
// so both modes of a comparison see identical work.
type Workload interface {
	Jobs(seed int64) []JobSpec
	Describe() string
}

// Steady arrivals: a Poisson process of PerMinute jobs over Window, each
// running MeanDuration ± 50 % (uniform).
type Steady struct {
	PerMinute    float64
	MeanDuration time.Duration
	Window       time.Duration
}

func (w Steady) Jobs(seed int64) []JobSpec {
	return Bursty{BasePerMinute: w.PerMinute, PeakPerMinute: w.PerMinute, MeanDuration: w.MeanDuration, Window: w.Window}.Jobs(seed)
}

func (w Steady) Describe() string {
	return fmt.Sprintf("steady %.1f jobs/min of ~%s for %s", w.PerMinute, w.MeanDuration, w.Window)
}

// Bursty is a morning peak: BasePerMinute, ramping (over Ramp) up to
// PeakPerMinute between PeakStart and PeakEnd, and back down.
type Bursty struct {
	BasePerMinute, PeakPerMinute float64
	PeakStart, PeakEnd, Ramp     time.Duration
	MeanDuration                 time.Duration
	Window                       time.Duration
}

// rate at offset t, jobs per minute.
func (w Bursty) rate(t time.Duration) float64 {
	peak := 0.0
	switch {
	case t >= w.PeakStart && t <= w.PeakEnd:
		peak = 1
	case w.Ramp > 0 && t < w.PeakStart && t > w.PeakStart-w.Ramp:
		peak = 1 - float64(w.PeakStart-t)/float64(w.Ramp)
	case w.Ramp > 0 && t > w.PeakEnd && t < w.PeakEnd+w.Ramp:
		peak = 1 - float64(t-w.PeakEnd)/float64(w.Ramp)
	}
	return w.BasePerMinute + peak*(w.PeakPerMinute-w.BasePerMinute)
}

// Jobs draws a non-homogeneous Poisson process by thinning.
func (w Bursty) Jobs(seed int64) []JobSpec {
	rng := rand.New(rand.NewSource(seed))
	top := math.Max(w.BasePerMinute, w.PeakPerMinute)
	if top <= 0 {
		return nil
	}
	var jobs []JobSpec
	t := 0.0 // minutes
	for {
		t += rng.ExpFloat64() / top
		at := time.Duration(t * float64(time.Minute))
		if at >= w.Window {
			return jobs
		}
		if rng.Float64()*top > w.rate(at) {
			continue
		}
		d := time.Duration(float64(w.MeanDuration) * (0.5 + rng.Float64()))
		jobs = append(jobs, JobSpec{At: at.Round(time.Second), Duration: d.Round(time.Second)})
	}
}

func (w Bursty) Describe() string {
	return fmt.Sprintf("morning peak: %.1f jobs/min, %.1f/min from %s to %s, jobs ~%s, for %s",
		w.BasePerMinute, w.PeakPerMinute, w.PeakStart, w.PeakEnd, w.MeanDuration, w.Window)
}

// Trace replays recorded jobs.
type Trace struct {
	Name  string
	Specs []JobSpec
}

func (w Trace) Jobs(int64) []JobSpec { return w.Specs }

func (w Trace) Describe() string { return fmt.Sprintf("trace %s: %d jobs", w.Name, len(w.Specs)) }

// ReadTrace parses CSV rows "start_offset,duration": seconds (decimal) or
// Go durations ("90s", "2m"). A header row and '#' comments are allowed.
func ReadTrace(name string, r io.Reader) (Trace, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	tr := Trace{Name: name}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return tr, fmt.Errorf("trace %s: %w", name, err)
		}
		at, err1 := parseDuration(rec[0])
		d, err2 := parseDuration(rec[1])
		if err1 != nil || err2 != nil {
			if line == 1 {
				continue // header
			}
			return tr, fmt.Errorf("trace %s line %d: want start_offset,duration (seconds or 90s-style): %q", name, line, rec)
		}
		tr.Specs = append(tr.Specs, JobSpec{At: at, Duration: d})
	}
	sort.SliceStable(tr.Specs, func(i, j int) bool { return tr.Specs[i].At < tr.Specs[j].At })
	if len(tr.Specs) == 0 {
		return tr, fmt.Errorf("trace %s has no jobs", name)
	}
	return tr, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("negative")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative")
	}
	return d, err
}
