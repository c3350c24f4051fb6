// Package demo is `make demo`: a workload scenario played against the
// simulated AWS through the job driver and the real fleeting provisioner,
// once with the plugin binary and once with the official-like group, with
// live progress, a side-by-side summary and an HTML report.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// Config of one demo run.
type Config struct {
	Plugin   string // path of the plugin binary
	Scenario string // a workload.Names() entry (default "default")
	OutDir   string // logs and report.html (default a temp dir)
	// Trace replaces the scenario's workload with a CSV trace file.
	Trace string
	// Prices overrides the default price table with a CSV file.
	Prices string
	// Modes to run (default ours and official-like).
	Modes []workload.Mode
	// Speed overrides the scenario's clock speed (0 = keep).
	Speed float64
	// Sequential runs the modes one after the other instead of at once
	// (at once halves the wall time; the modes are light on CPU).
	Sequential bool
	// KeyBits of the official-like per-connection RSA key (default 4096).
	KeyBits int
	// Tweak, when set, edits the scenario before the run (tests shrink it).
	Tweak func(*workload.Scenario)
	// Metrics, when set, is ours' metrics_listen: the plugin serves its
	// Prometheus metrics there while the run lasts.
	Metrics string
}

// Summary is what the demo measured.
type Summary struct {
	Results   []*workload.Result
	Summaries []workload.Summary
	Report    string // the HTML report's path
	// LeftRunning counts instances still billing at the end, per mode.
	LeftRunning []int
}

// Run plays the scenario and writes progress, the summary and the report
// path to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	if cfg.Scenario == "" {
		cfg.Scenario = "default"
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []workload.Mode{workload.Ours, workload.OfficialLike}
	}
	if cfg.OutDir == "" {
		dir, err := os.MkdirTemp("", "ec2spot-demo-")
		if err != nil {
			return nil, err
		}
		cfg.OutDir = dir
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	sc, err := workload.Lookup(cfg.Scenario)
	if err != nil {
		return nil, err
	}
	if cfg.Trace != "" {
		f, err := os.Open(cfg.Trace)
		if err != nil {
			return nil, err
		}
		tr, err := workload.ReadTrace(filepath.Base(cfg.Trace), f)
		f.Close()
		if err != nil {
			return nil, err
		}
		sc.Workload = tr
	}
	if cfg.Speed > 0 {
		sc.Speed = cfg.Speed
	}
	if cfg.Tweak != nil {
		cfg.Tweak(&sc)
	}
	serveMetrics(&sc, cfg.Metrics, out)
	prices := workload.DefaultPrices()
	if cfg.Prices != "" {
		f, err := os.Open(cfg.Prices)
		if err != nil {
			return nil, err
		}
		err = prices.ReadPrices(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(out, "scenario %s: %s\nworkload: %s\n", sc.Name, sc.Description, sc.Workload.Describe())
	fmt.Fprintf(out, "simulated AWS, clock ×%g; group %s (%d on-demand base, spot above; %s); modes: %v\n",
		sc.Speed, sc.Group.Name, sc.Group.OnDemandBase, strings.Join(sc.Group.InstanceTypes, ", "), cfg.Modes)
	fmt.Fprintf(out, "each mode drives its own simulated account through the real fleeting provisioner; jobs connect over SSH\n\n")

	results, err := workload.Compare(ctx, sc, cfg.Modes, workload.Options{
		Plugin: cfg.Plugin, LogDir: cfg.OutDir, Progress: out, KeyBits: cfg.KeyBits,
	}, !cfg.Sequential)
	sum := &Summary{Results: results}
	for _, r := range results {
		if r == nil {
			continue
		}
		sum.Summaries = append(sum.Summaries, workload.Summarize(r, prices))
		sum.LeftRunning = append(sum.LeftRunning, r.LeftBilling)
	}
	if err != nil {
		return sum, err
	}

	fmt.Fprintf(out, "\nsummary (simulated time; ratio = %s ÷ %s):\n", cfg.Modes[0], cfg.Modes[len(cfg.Modes)-1])
	workload.WriteTable(out, sum.Summaries)
	for _, r := range results {
		if err := writeEvents(filepath.Join(cfg.OutDir, fmt.Sprintf("%s-%s.events.jsonl", sc.Name, r.Mode)), r); err != nil {
			return sum, err
		}
		fmt.Fprintf(out, "\n%s: instances (market/type/AZ → count; states seen)\n", r.Mode)
		writeInstances(out, r)
		writeCalls(out, r)
		fmt.Fprintf(out, "  log: %s\n", r.Log)
	}
	sum.Report = filepath.Join(cfg.OutDir, "report.html")
	f, err := os.Create(sum.Report)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	if err := workload.WriteHTML(f, sc, results, sum.Summaries, prices); err != nil {
		return sum, err
	}
	for i, r := range results {
		fmt.Fprintf(out, "\n%s: scaled to zero: %v (instances still billing: %d); %s simulated in %s\n",
			r.Mode, sum.LeftRunning[i] == 0, sum.LeftRunning[i], clock(r.End), r.Wall.Round(100*time.Millisecond))
	}
	fmt.Fprintf(out, "\nHTML report: %s\n", sum.Report)
	return sum, nil
}

func writeEvents(path string, r *workload.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := workload.WriteEvents(f, r.Events); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeInstances(out io.Writer, r *workload.Result) {
	counts := map[string]int{}
	states := map[string]map[string]bool{}
	for _, l := range workload.Lives(r.Events) {
		k := l.Market + "\t" + l.Type + "\t" + l.AZ
		counts[k]++
		if states[k] == nil {
			states[k] = map[string]bool{}
		}
		for _, s := range l.States {
			states[k][s.State] = true
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MARKET\tTYPE\tAZ\tINSTANCES\tSTATES")
	for _, k := range keys {
		var ss []string
		for s := range states[k] {
			ss = append(ss, s)
		}
		sort.Strings(ss)
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", k, counts[k], strings.Join(ss, ","))
	}
	tw.Flush()
}

func writeCalls(out io.Writer, r *workload.Result) {
	var keys []string
	total := 0
	for k, v := range r.Calls {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Calls[k]))
	}
	fmt.Fprintf(out, "  AWS API calls (%d): %s\n", total, strings.Join(parts, ", "))
}

func clock(t time.Duration) string {
	t = t.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(t.Minutes()), int(t.Seconds())%60)
}
