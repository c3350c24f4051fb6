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

// Figure is one number of a run's summary that repeated runs aggregate.
type Figure struct {
	Name string
	Get  func(Summary) float64
	// Format prints a value (medians of counts may be halves).
	Format func(float64) string
}

// Figures are the numbers `make demo RUNS=n` reports as median and range.
func Figures() []Figure {
	count := func(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") }
	dur := func(v float64) string {
		return fmtDuration(time.Duration(v * float64(time.Second)).Round(time.Millisecond))
	}
	usd := func(v float64) string { return fmt.Sprintf("$%.4f", v) }
	usd6 := func(v float64) string { return fmt.Sprintf(CostPerJobFormat, v) }
	secs := func(d time.Duration) float64 { return d.Seconds() }
	return []Figure{
		{"jobs", func(s Summary) float64 { return float64(s.Jobs) }, count},
		{"jobs failed", func(s Summary) float64 { return float64(s.FailedTotal()) }, count},
		{"  of them retried (retry: runner_system_failure)", func(s Summary) float64 { return float64(s.Retried) }, count},
		{"job wait p50 (succeeded jobs)", func(s Summary) float64 { return secs(s.P50) }, dur},
		{"job wait p95 (succeeded jobs)", func(s Summary) float64 { return secs(s.P95) }, dur},
		{"spot interruption notices", func(s Summary) float64 { return float64(s.Interruptions) }, count},
		{"jobs started after their instance's notice", func(s Summary) float64 { return float64(s.StartedAfterNotice) }, count},
		{"instance-hours on-demand", func(s Summary) float64 { return s.InstanceHours["on-demand"] }, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
		{"instance-hours spot", func(s Summary) float64 { return s.InstanceHours["spot"] }, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
		{"estimated cost", func(s Summary) float64 { return s.Cost }, usd},
		{"cost per successful job", func(s Summary) float64 { return s.CostPerDone }, usd6},
		{"AWS API calls per job", func(s Summary) float64 { return s.CallsPerJob }, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
		{"connect p95 (ConnectInfo + SSH)", func(s Summary) float64 { return secs(s.ConnectP95) }, dur},
	}
}

// Spread is the median and range of a figure over repeated runs.
type Spread struct{ Median, Min, Max float64 }

// SpreadOf computes the median (the mean of the middle two for an even
// count) and range; zero for no values.
func SpreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return Spread{Median: med, Min: v[0], Max: v[n-1]}
}

// Spreads aggregates one mode's runs, figure by figure (in Figures order).
func Spreads(runs []Summary) []Spread {
	figs := Figures()
	out := make([]Spread, 0, len(figs))
	for _, f := range figs {
		v := make([]float64, 0, len(runs))
		for _, s := range runs {
			v = append(v, f.Get(s))
		}
		out = append(out, SpreadOf(v))
	}
	return out
}

// WriteRepeatTable prints, per figure, each mode's median [min–max] over
// its runs and the ratio of the first mode's median to the last's.
// byMode[i] holds mode i's summaries, one per seed.
func WriteRepeatTable(w io.Writer, modes []Mode, byMode [][]Summary) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "median [min–max]\t")
	for _, m := range modes {
		fmt.Fprintf(tw, "%s\t", m)
	}
	if len(modes) > 1 {
		fmt.Fprint(tw, "ratio of medians\t")
	}
	fmt.Fprintln(tw)
	spreads := make([][]Spread, len(byMode))
	for i, runs := range byMode {
		spreads[i] = Spreads(runs)
	}
	for fi, f := range Figures() {
		fmt.Fprintf(tw, "%s\t", f.Name)
		medians := make([]float64, 0, len(byMode))
		for i := range byMode {
			s := spreads[i][fi]
			if s.Min == s.Max {
				fmt.Fprintf(tw, "%s\t", f.Format(s.Median))
			} else {
				fmt.Fprintf(tw, "%s [%s–%s]\t", f.Format(s.Median), f.Format(s.Min), f.Format(s.Max))
			}
			medians = append(medians, s.Median)
		}
		if len(modes) > 1 {
			first, last := medians[0], medians[len(medians)-1]
			switch zero := f.Format(0); {
			// Zero as shown: a ratio of what rounds away (waits of
			// microseconds) would read as a difference.
			case f.Format(first) == zero && f.Format(last) == zero:
				fmt.Fprint(tw, "=\t")
			case f.Format(last) == zero:
				fmt.Fprint(tw, "—\t")
			default:
				fmt.Fprintf(tw, "%s\t", ratio([]float64{first, last}))
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// Goal is one of the demo's promises, checked on medians.
type Goal struct {
	Name   string
	Met    bool
	Detail string
}

// Goals checks ours against official-like on the medians of their runs:
// AWS calls per job ≤ 1.2×, cost per successful job ≤, p95 wait ≤, and
// failed jobs and jobs started after a notice strictly fewer wherever the
// official-like model has any (else no more).
func Goals(ours, official []Summary) []Goal {
	med := func(runs []Summary, f func(Summary) float64) float64 {
		v := make([]float64, 0, len(runs))
		for _, s := range runs {
			v = append(v, f(s))
		}
		return SpreadOf(v).Median
	}
	var goals []Goal
	// Equal figures as shown (58.0s vs 58.0s) meet a "≤": they are
	// printed at the precision they mean. A limit (1.2×) is not rounded.
	le := func(name string, f func(Summary) float64, factor float64, format func(float64) string) {
		o, x := med(ours, f), med(official, f)
		goals = append(goals, Goal{Name: name, Met: o <= factor*x+1e-12 || (factor == 1 && format(o) == format(x)),
			Detail: fmt.Sprintf("%s vs %s", format(o), format(x))})
	}
	fewer := func(name string, f func(Summary) float64) {
		o, x := med(ours, f), med(official, f)
		met := o < x || (x == 0 && o == 0)
		goals = append(goals, Goal{Name: name, Met: met, Detail: fmt.Sprintf("%g vs %g", o, x)})
	}
	figs := map[string]Figure{}
	for _, f := range Figures() {
		figs[f.Name] = f
	}
	le("AWS API calls per job ≤ 1.2× official-like", figs["AWS API calls per job"].Get, 1.2, figs["AWS API calls per job"].Format)
	le("cost per successful job ≤ official-like", figs["cost per successful job"].Get, 1, figs["cost per successful job"].Format)
	le("job wait p95 ≤ official-like", figs["job wait p95 (succeeded jobs)"].Get, 1, figs["job wait p95 (succeeded jobs)"].Format)
	// Both plugins see an instance come up only at fleeting's next update,
	// 2 s apart: a miss within one loop is the loops' phase, not a slower
	// plugin. Still a miss; the line says so.
	if g := &goals[len(goals)-1]; !g.Met {
		f := figs["job wait p95 (succeeded jobs)"].Get
		if d := med(ours, f) - med(official, f); d <= driver.DefaultUpdateIntervalWhenExpecting.Seconds() {
			g.Detail += fmt.Sprintf("; %.1fs apart, within one %s update loop of fleeting", d, driver.DefaultUpdateIntervalWhenExpecting)
		}
	}
	fewer("jobs failed fewer (or both none)", figs["jobs failed"].Get)
	fewer("jobs started after a notice fewer (or both none)", figs["jobs started after their instance's notice"].Get)
	return goals
}

// WriteGoals prints the goals, one per line.
func WriteGoals(w io.Writer, goals []Goal) {
	for _, g := range goals {
		mark := "met    "
		if !g.Met {
			mark = "MISSED "
		}
		fmt.Fprintf(w, "  %s %s (ours %s)\n", mark, g.Name, g.Detail)
	}
}
