package workload

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
	"time"
)

// Row is one line of the side-by-side summary: a figure per mode and the
// ratio ours ÷ official-like.
type Row struct {
	Name   string
	Values []string
	Ratio  string
}

// Rows lays out the summaries (ours first) as the table shows them.
func Rows(sums []Summary) []Row {
	dur := func(f func(Summary) time.Duration) ([]string, []float64) {
		v := make([]string, 0, len(sums))
		n := make([]float64, 0, len(sums))
		for _, s := range sums {
			v = append(v, fmtDuration(f(s)))
			n = append(n, f(s).Seconds())
		}
		return v, n
	}
	num := func(format string, f func(Summary) float64) ([]string, []float64) {
		v := make([]string, 0, len(sums))
		n := make([]float64, 0, len(sums))
		for _, s := range sums {
			v = append(v, fmt.Sprintf(format, f(s)))
			n = append(n, f(s))
		}
		return v, n
	}
	var rows []Row
	add := func(name string, v []string, n []float64) {
		rows = append(rows, Row{Name: name, Values: v, Ratio: ratio(n)})
	}
	v, n := num("%.0f", func(s Summary) float64 { return float64(s.Jobs) })
	add("jobs", v, n)
	v, n = num("%.0f", func(s Summary) float64 { return float64(s.Done) })
	add("jobs done", v, n)
	v, n = num("%.0f", func(s Summary) float64 { return float64(s.FailedTotal()) })
	add("jobs failed", v, n)
	for _, cause := range causes(sums) {
		v, n = num("%.0f", func(s Summary) float64 { return float64(s.Failed[cause]) })
		add("  "+cause, v, n)
	}
	if slices.ContainsFunc(sums, func(s Summary) bool { return s.Retried > 0 }) {
		v, n = num("%.0f", func(s Summary) float64 { return float64(s.Retried) })
		add("  of them retried (retry: runner_system_failure)", v, n)
	}
	v, n = dur(func(s Summary) time.Duration { return s.P50 })
	add("job wait p50 (succeeded jobs)", v, n)
	v, n = dur(func(s Summary) time.Duration { return s.P95 })
	add("job wait p95 (succeeded jobs)", v, n)
	v, n = dur(func(s Summary) time.Duration { return s.MaxWait })
	add("job wait max (succeeded jobs)", v, n)
	v, n = num("%.0f", func(s Summary) float64 { return float64(s.Interruptions) })
	add("spot interruption notices", v, n)
	v, n = num("%.0f", func(s Summary) float64 { return float64(s.StartedAfterNotice) })
	add("jobs started after their instance's notice", v, n)
	if name, n, ok := unreadyRow(sums); ok {
		v, _ = num("%.0f", func(s Summary) float64 { return float64(s.HandedUnready) })
		add(name, v, n)
	}
	for _, m := range []string{"on-demand", "spot"} {
		v, n = num("%.2f", func(s Summary) float64 { return s.InstanceHours[m] })
		add("instance-hours "+m, v, n)
	}
	v, n = num("$%.4f", func(s Summary) float64 { return s.Cost })
	add("estimated cost", v, n)
	v, n = num(CostPerJobFormat, func(s Summary) float64 { return s.CostPerDone })
	add("cost per successful job", v, n)
	v, n = num("%.0f", func(s Summary) float64 { return float64(s.APICalls) })
	add("AWS API calls", v, n)
	v, n = num("%.1f", func(s Summary) float64 { return s.CallsPerJob })
	add("AWS API calls per job", v, n)
	v, n = dur(func(s Summary) time.Duration { return s.ConnectP95 })
	add("connect p95 (ConnectInfo + SSH)", v, n)
	for _, m := range []string{"Update", "Increase", "Decrease", "ConnectInfo"} {
		v, n = dur(func(s Summary) time.Duration { return s.PluginLatency[m].P95 })
		add("plugin "+m+" p95 (real time)", v, n)
		// A long call stalls fleeting's loop for speed × its length in
		// simulated time: the max shows it.
		v, n = dur(func(s Summary) time.Duration { return s.PluginLatency[m].Max })
		add("plugin "+m+" max (real time)", v, n)
	}
	return rows
}

func causes(sums []Summary) []string {
	set := map[string]bool{}
	for _, s := range sums {
		for c := range s.Failed {
			set[c] = true
		}
	}
	list := make([]string, 0, len(set))
	for c := range set {
		list = append(list, c)
	}
	sort.Strings(list)
	return list
}

// ratio is first ÷ second; "—" when it means nothing.
func ratio(n []float64) string {
	if len(n) < 2 {
		return ""
	}
	switch {
	case n[0] == 0 && n[1] == 0:
		return "="
	case n[1] == 0:
		return "—"
	}
	return fmt.Sprintf("×%.2f", n[0]/n[1])
}

// FormatDuration prints a simulated duration as the tables do.
func FormatDuration(d time.Duration) string { return fmtDuration(d) }

// CostPerJobFormat prints a cost per job with six decimals: three
// significant digits, so two costs shown equal differ by less than 0.3 %.
const CostPerJobFormat = "$%.6f"

func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return clock(d)
}

// WriteTable prints the side-by-side summary.
func WriteTable(w io.Writer, sums []Summary) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t", s.Mode)
	}
	if len(sums) > 1 {
		fmt.Fprint(tw, "ratio\t")
	}
	fmt.Fprintln(tw)
	for _, r := range Rows(sums) {
		fmt.Fprintf(tw, "%s\t", r.Name)
		for _, v := range r.Values {
			fmt.Fprintf(tw, "%s\t", v)
		}
		if len(sums) > 1 {
			fmt.Fprintf(tw, "%s\t", r.Ratio)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
