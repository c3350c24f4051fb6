package workload

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Spend is where a run's billed instance time went, instance by instance
// phase: booting (billed, not yet ready), busy (running a job), idle
// (ready, no job), removing (after the runner or the plugin gave it up, or
// AWS took it, until AWS stopped billing). It explains a cost difference.
type Spend struct {
	Instances map[string]int // by market
	// Time and Cost by phase ("boot", "busy", "idle", "removing") and
	// market, as "phase/market".
	Time map[string]time.Duration
	Cost map[string]float64
	// Unused counts instances that never ran a job, and Wasted their cost.
	Unused int
	Wasted float64
	// Removed counts the runner's removals by reason, plus "aws" for
	// instances that vanished without one (spot reclaim).
	Removed map[string]int
}

// SpendOf splits the Billed events of a run by phase.
func SpendOf(events []Event, prices Prices) Spend {
	sp := Spend{Instances: map[string]int{}, Time: map[string]time.Duration{}, Cost: map[string]float64{}, Removed: map[string]int{}}
	ready, removing := map[string]time.Duration{}, map[string]time.Duration{}
	type span struct{ from, to time.Duration }
	jobsOn := map[string][]span{}
	started := map[int]Event{}
	for _, e := range events {
		switch e.Kind {
		case string(driver.InstanceState):
			switch e.State {
			case "ready":
				if _, ok := ready[e.Instance]; !ok {
					ready[e.Instance] = e.T
				}
			case "removing":
				if _, ok := removing[e.Instance]; !ok {
					removing[e.Instance] = e.T
					sp.Removed[reason(e.Detail)]++
				}
			}
		case string(driver.JobStarted):
			started[e.Job] = e
		case string(driver.JobDone), string(driver.JobFailed):
			if s, ok := started[e.Job]; ok {
				jobsOn[s.Instance] = append(jobsOn[s.Instance], span{s.T, e.T})
				delete(started, e.Job)
			}
		}
	}
	for _, e := range events {
		if e.Kind != Billed {
			continue
		}
		sp.Instances[e.Market]++
		from, end := e.T, e.T+e.Billed
		clip := func(t time.Duration) time.Duration { return min(max(t, from), end) }
		up := end
		if t, ok := ready[e.Instance]; ok {
			up = clip(t)
		}
		gone := end
		if t, ok := removing[e.Instance]; ok {
			gone = max(clip(t), up)
		} else {
			sp.Removed["aws"]++
		}
		busy := time.Duration(0)
		last := up
		for _, j := range jobsOn[e.Instance] { // in start order
			a, b := max(min(j.from, gone), last), min(j.to, gone)
			if b > a {
				busy += b - a
				last = b
			}
		}
		price := prices.Price(e.Type, e.Market)
		add := func(phase string, d time.Duration) {
			k := phase + "/" + e.Market
			sp.Time[k] += d
			sp.Cost[k] += d.Hours() * price
		}
		add("boot", up-from)
		add("busy", busy)
		add("idle", gone-up-busy)
		add("removing", end-gone)
		if len(jobsOn[e.Instance]) == 0 {
			sp.Unused++
			sp.Wasted += e.Billed.Hours() * price
		}
	}
	return sp
}

// reason shortens a removal reason to its kind.
func reason(detail string) string {
	if detail == "" {
		return "unknown"
	}
	r, _, _ := strings.Cut(detail, ":")
	return r
}

// WriteSpend prints the modes' spend side by side: instance-minutes and
// cost per phase and market.
func WriteSpend(w io.Writer, modes []Mode, spends []Spend) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "  billed instance time\t")
	for _, m := range modes {
		fmt.Fprintf(tw, "%s\t", m)
	}
	fmt.Fprintln(tw)
	for _, market := range []string{"on-demand", "spot"} {
		for _, phase := range []string{"boot", "busy", "idle", "removing"} {
			k := phase + "/" + market
			fmt.Fprintf(tw, "  %s %s\t", market, phase)
			for _, s := range spends {
				fmt.Fprintf(tw, "%.0f min $%.4f\t", s.Time[k].Minutes(), s.Cost[k])
			}
			fmt.Fprintln(tw)
		}
	}
	fmt.Fprint(tw, "  instances (on-demand/spot)\t")
	for _, s := range spends {
		fmt.Fprintf(tw, "%d/%d\t", s.Instances["on-demand"], s.Instances["spot"])
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "  never ran a job\t")
	for _, s := range spends {
		fmt.Fprintf(tw, "%d ($%.4f)\t", s.Unused, s.Wasted)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "  removed because\t")
	for _, s := range spends {
		var keys []string
		for k := range s.Removed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Removed[k]))
		}
		fmt.Fprintf(tw, "%s\t", strings.Join(parts, ", "))
	}
	fmt.Fprintln(tw)
	tw.Flush()
}
