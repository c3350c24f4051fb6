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
	Plugin string // path of the plugin binary
	// OfficialLikePlugin is a binary serving the official-like group as a
	// fleeting plugin (officiallike.ServeIfPlugin): the demo command itself.
	// "" runs that model in process, sparing it the gRPC round trip and
	// second process ours pays; for tests that compare no figures.
	OfficialLikePlugin string
	Scenario           string // a workload.Names() entry (default "default")
	OutDir             string // logs and report.html (default a temp dir)
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
	// Seed of the first run (0 = the scenario's, 1); run i uses Seed+i.
	// A seed fixes the job stream (arrivals, durations) and the spot
	// interruption draws, the same for every mode.
	Seed int64
	// Runs per scenario and mode (default 1). With more than one, the
	// demo prints a line per run and then each figure's median and range.
	Runs int
}

// All is the Scenario value that runs every shipped scenario in turn.
const All = "all"

// Summary is what the demo measured.
type Summary struct {
	Results   []*workload.Result
	Summaries []workload.Summary
	Report    string // the HTML report's path
	// LeftRunning counts instances still billing at the end, per mode.
	LeftRunning []int
	// Repeats holds every run's summaries, per scenario (with Runs > 1 or
	// Scenario "all"); Results, Summaries, Report and LeftRunning are then
	// the last run's.
	Repeats []Repeat
	// Wall is the real time the run took.
	Wall time.Duration
}

// Repeat is one scenario's seeded runs.
type Repeat struct {
	Scenario string
	Modes    []workload.Mode
	Seeds    []int64
	// ByMode[i][j] is mode i's summary of the run with Seeds[j].
	ByMode [][]workload.Summary
	// LeftBilling sums the instances left billing over the runs, per mode.
	LeftBilling []int
	Wall        time.Duration
}

// Run plays the scenario (every shipped one for "all") Runs times with
// consecutive seeds and writes progress (one run) or a line per run, the
// summary or the medians and ranges, and the report paths to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	if cfg.Runs <= 0 {
		cfg.Runs = 1
	}
	if cfg.Scenario == "" {
		cfg.Scenario = "default"
	}
	if cfg.Scenario != All && cfg.Runs == 1 {
		return runOnce(ctx, cfg, out, true)
	}
	names := []string{cfg.Scenario}
	if cfg.Scenario == All {
		names = workload.Names()
	}
	if cfg.OutDir == "" {
		dir, err := os.MkdirTemp("", "ec2spot-demo-")
		if err != nil {
			return nil, err
		}
		cfg.OutDir = dir
	}
	total := &Summary{}
	for _, name := range names {
		rep, last, err := repeat(ctx, cfg, name, out)
		if last != nil {
			total.Results, total.Summaries, total.Report, total.LeftRunning = last.Results, last.Summaries, last.Report, last.LeftRunning
		}
		if rep != nil {
			total.Repeats = append(total.Repeats, *rep)
		}
		if err != nil {
			return total, err
		}
	}
	if len(total.Repeats) > 1 {
		fmt.Fprintf(out, "\n== goals over all scenarios (medians of %d seeded runs each)\n", cfg.Runs)
		for _, r := range total.Repeats {
			if len(r.ByMode) < 2 {
				continue
			}
			missed := 0
			for _, g := range workload.Goals(r.ByMode[0], r.ByMode[len(r.ByMode)-1]) {
				if !g.Met {
					missed++
				}
			}
			fmt.Fprintf(out, "  %-14s %d goal(s) missed (%s)\n", r.Scenario, missed, r.Wall.Round(time.Second))
		}
	}
	return total, nil
}

// repeat runs one scenario Runs times and prints its medians and ranges.
func repeat(ctx context.Context, cfg Config, name string, out io.Writer) (*Repeat, *Summary, error) {
	began := time.Now()
	first := cfg.Seed
	if first == 0 {
		sc, err := workload.Lookup(name)
		if err != nil {
			return nil, nil, err
		}
		first = sc.Seed
	}
	rep := &Repeat{Scenario: name}
	var last *Summary
	fmt.Fprintf(out, "\n== scenario %s: %d seeded runs (seeds %d–%d)\n", name, cfg.Runs, first, first+int64(cfg.Runs)-1)
	for i := 0; i < cfg.Runs; i++ {
		c := cfg
		c.Scenario, c.Seed, c.Runs = name, first+int64(i), 1
		c.OutDir = filepath.Join(cfg.OutDir, fmt.Sprintf("%s-seed%d", name, c.Seed))
		sum, err := runOnce(ctx, c, out, false)
		if sum != nil && len(sum.Summaries) > 0 {
			last = sum
			if rep.Modes == nil {
				for _, s := range sum.Summaries {
					rep.Modes = append(rep.Modes, s.Mode)
				}
				rep.ByMode = make([][]workload.Summary, len(sum.Summaries))
				rep.LeftBilling = make([]int, len(sum.Summaries))
			}
			rep.Seeds = append(rep.Seeds, c.Seed)
			for j, s := range sum.Summaries {
				if j < len(rep.ByMode) {
					rep.ByMode[j] = append(rep.ByMode[j], s)
					rep.LeftBilling[j] += sum.LeftRunning[j]
				}
			}
			fmt.Fprintf(out, "  seed %d:%s  (%s)\n", c.Seed, runLine(sum.Summaries), sum.Wall.Round(time.Second))
		}
		if err != nil {
			return rep, last, err
		}
	}
	rep.Wall = time.Since(began)
	if len(rep.Seeds) == 0 {
		return rep, last, fmt.Errorf("scenario %s: no run finished", name)
	}
	fmt.Fprintf(out, "\nscenario %s, %d runs: median [min–max] per figure (simulated time; ratio = %s ÷ %s medians)\n",
		name, len(rep.Seeds), rep.Modes[0], rep.Modes[len(rep.Modes)-1])
	workload.WriteRepeatTable(out, rep.Modes, rep.ByMode)
	if len(rep.ByMode) > 1 {
		fmt.Fprintln(out, "goals (on the medians):")
		workload.WriteGoals(out, workload.Goals(rep.ByMode[0], rep.ByMode[len(rep.ByMode)-1]))
	}
	fmt.Fprintf(out, "instances left billing over all runs: %v; per-run reports: %s; wall time %s\n",
		rep.LeftBilling, filepath.Join(cfg.OutDir, name+"-seed*", "report.html"), rep.Wall.Round(time.Second))
	return rep, last, nil
}

// runLine is a run's key figures, mode by mode.
func runLine(sums []workload.Summary) string {
	parts := make([]string, 0, len(sums))
	for _, s := range sums {
		parts = append(parts, fmt.Sprintf(" %s failed %d, after notice %d, p95 %s, cost/job %s, calls/job %.1f",
			s.Mode, s.FailedTotal(), s.StartedAfterNotice, workload.FormatDuration(s.P95), fmt.Sprintf(workload.CostPerJobFormat, s.CostPerDone), s.CallsPerJob))
	}
	return strings.Join(parts, " |")
}

// runOnce plays the scenario once per mode and writes progress (verbose),
// the summary and the report path to out.
func runOnce(ctx context.Context, cfg Config, out io.Writer, verbose bool) (*Summary, error) {
	began := time.Now()
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
	if cfg.Seed != 0 {
		sc.Seed = cfg.Seed
	}
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

	if !verbose {
		return runQuiet(ctx, cfg, sc, prices, began)
	}
	fmt.Fprintf(out, "scenario %s (seed %d): %s\nworkload: %s\n", sc.Name, sc.Seed, sc.Description, sc.Workload.Describe())
	fmt.Fprintf(out, "simulated AWS, clock ×%g; group %s (%d on-demand base, spot above; %s); modes: %v\n",
		sc.Speed, sc.Group.Name, sc.Group.OnDemandBase, strings.Join(sc.Group.InstanceTypes, ", "), cfg.Modes)
	fmt.Fprintf(out, "each mode drives its own simulated account through the real fleeting provisioner; jobs connect over SSH\n\n")

	sum, err := play(ctx, cfg, sc, prices, out)
	if err != nil {
		return sum, err
	}
	results := sum.Results

	fmt.Fprintf(out, "\nsummary (simulated time; ratio = %s ÷ %s):\n", cfg.Modes[0], cfg.Modes[len(cfg.Modes)-1])
	workload.WriteTable(out, sum.Summaries)
	fmt.Fprintf(out, "\nwhere the billed instance time went (phase by market; removal reasons from the runner, aws = taken by AWS):\n")
	var spends []workload.Spend
	for _, r := range results {
		spends = append(spends, workload.SpendOf(r.Events, prices))
	}
	workload.WriteSpend(out, cfg.Modes, spends)
	for _, r := range results {
		fmt.Fprintf(out, "\n%s: instances (market/type/AZ → count; states seen)\n", r.Mode)
		writeInstances(out, r)
		writeCalls(out, r)
		fmt.Fprintf(out, "  log: %s\n", r.Log)
	}
	for i, r := range results {
		fmt.Fprintf(out, "\n%s: scaled to zero: %v (instances still billing: %d); %s simulated in %s\n",
			r.Mode, sum.LeftRunning[i] == 0, sum.LeftRunning[i], clock(r.End), r.Wall.Round(100*time.Millisecond))
	}
	fmt.Fprintf(out, "\nHTML report: %s\n", sum.Report)
	sum.Wall = time.Since(began)
	return sum, nil
}

// runQuiet is runOnce without terminal output: its events, logs and
// report go to cfg.OutDir.
func runQuiet(ctx context.Context, cfg Config, sc workload.Scenario, prices workload.Prices, began time.Time) (*Summary, error) {
	sum, err := play(ctx, cfg, sc, prices, nil)
	if err != nil {
		return sum, err
	}
	sum.Wall = time.Since(began)
	return sum, nil
}

// play runs the scenario once per mode (progress to progress, nil = none),
// summarises the results and writes each mode's events and the HTML report
// to cfg.OutDir.
func play(ctx context.Context, cfg Config, sc workload.Scenario, prices workload.Prices, progress io.Writer) (*Summary, error) {
	results, err := workload.Compare(ctx, sc, cfg.Modes, workload.Options{
		Plugin: cfg.Plugin, OfficialLikePlugin: cfg.OfficialLikePlugin, LogDir: cfg.OutDir, Progress: progress, KeyBits: cfg.KeyBits,
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
	for _, r := range results {
		if err := writeEvents(filepath.Join(cfg.OutDir, fmt.Sprintf("%s-%s.events.jsonl", sc.Name, r.Mode)), r); err != nil {
			return sum, err
		}
	}
	sum.Report = filepath.Join(cfg.OutDir, "report.html")
	f, err := os.Create(sum.Report)
	if err != nil {
		return sum, err
	}
	if err := workload.WriteHTML(f, sc, results, sum.Summaries, prices); err != nil {
		f.Close()
		return sum, err
	}
	return sum, f.Close()
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
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MARKET\tTYPE\tAZ\tINSTANCES\tSTATES")
	for _, k := range keys {
		ss := make([]string, 0, len(states[k]))
		for s := range states[k] {
			ss = append(ss, s)
		}
		sort.Strings(ss)
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", k, counts[k], strings.Join(ss, ","))
	}
	tw.Flush()
}

func writeCalls(out io.Writer, r *workload.Result) {
	keys := make([]string, 0, len(r.Calls))
	total := 0
	for k, v := range r.Calls {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Calls[k]))
	}
	fmt.Fprintf(out, "  AWS API calls (%d): %s\n", total, strings.Join(parts, ", "))
}

func clock(t time.Duration) string {
	t = t.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(t.Minutes()), int(t.Seconds())%60)
}
