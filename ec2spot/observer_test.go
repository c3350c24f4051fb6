package ec2spot

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) SpotSignal(k SignalKind, source string)    { r.add("signal %s %s", k, source) }
func (r *recorder) FallbackPhase(phase, switched string)      { r.add("phase %s %s", phase, switched) }
func (r *recorder) LaunchFailure(c FailureClass, _, _ string) { r.add("failure %s", c) }
func (r *recorder) APIRequest(string, string, string)         {}
func (r *recorder) LimiterWait(string, time.Duration)         {}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// The fallback reports each phase change, and each change of the group's
// percentage as a switch, once; a launch failure is counted once per
// activity however often it is read (the activities are read on every
// short Update here).
func TestObserverSeesFallbackAndFailures(t *testing.T) {
	// Not parallel: its fallback hold is a few hundred real milliseconds,
	// which CPU contention from parallel tests can use up between two checks.
	s := fastSim(t, awssim.Options{Speed: 300})
	rec := &recorder{}
	g, sp, _ := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
		ActivityPollInterval: time.Millisecond, Observer: rec,
		Fallback: &FallbackOptions{After: 200 * time.Millisecond, Hold: 300 * time.Millisecond},
	})
	if rec.count("phase spot ") != 1 {
		t.Fatalf("initial phase not reported: %v", rec.events)
	}
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "switch", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	inService(t, g, 1)
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, -1)
	}
	eventually(t, "probe", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 0 })
	for range 5 {
		observe(t, g, sp)
	}
	if rec.count("phase on_demand to_on_demand") != 1 || rec.count("phase probing to_spot") != 1 {
		t.Errorf("fallback events %v: want one switch to on-demand and one probe back to spot", rec.events)
	}
	gr, _ := s.Group("runners")
	failed := 0
	for _, a := range gr.Activities {
		if a.StatusCode == "Failed" {
			failed++
		}
	}
	// Each read activity once (one failing after the last read while short
	// is never read).
	if got := rec.count("failure spot_capacity"); got == 0 || got > failed {
		t.Errorf("%d launch failures observed, the simulator has %d failed activities", got, failed)
	}
}

// Without an observer nothing is hooked in (and nothing panics).
func TestNilObserver(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	_, sp, _ := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{})
	if _, ok := sp.observer.(NopObserver); !ok {
		t.Errorf("observer %T, want NopObserver", sp.observer)
	}
	if sp.Market("i-unknown") != "unknown" || !sp.InterruptedAt("i-unknown").IsZero() {
		t.Error("an unknown instance has a market or an interruption")
	}
}
