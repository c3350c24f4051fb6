// Command ec2spot-demo is `make demo`: a workload scenario (SCENARIO=name)
// on the embedded simulated AWS, run through the real fleeting provisioner
// with the plugin binary and, side by side, an official-plugin-like group;
// live progress, a summary table and an HTML report. No AWS account or
// credentials.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/officiallike"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

func main() {
	// Started by fleeting as the official-like plugin (see OfficialLikePlugin below).
	if officiallike.ServeIfPlugin() {
		return
	}
	plugin := flag.String("plugin", "", "plugin binary (default: build ./cmd/fleeting-plugin-ec2spot)")
	scenario := flag.String("scenario", "default", "scenario: "+strings.Join(workload.Names(), ", ")+", or all")
	runs := flag.Int("runs", 1, "seeded runs per scenario and mode; more than 1 prints each figure's median and range")
	seed := flag.Int64("seed", 0, "seed of the first run (0 = the scenario's, 1); run i uses seed+i; it fixes the jobs and the spot interruption draws")
	out := flag.String("out", "demo-out", "directory for logs and report.html")
	trace := flag.String("trace", "", "CSV trace (start_offset,duration) replacing the scenario's workload")
	prices := flag.String("prices", "", "CSV price table (instance_type,market,usd_per_hour) overriding the defaults")
	speed := flag.Float64("speed", 0, "simulated seconds per real second (0 = the scenario's)")
	sequential := flag.Bool("sequential", false, "run the modes one after the other instead of at once")
	only := flag.String("mode", "", "run one mode only: ours or official-like")
	metrics := flag.String("metrics", "", "serve ours' Prometheus metrics on this address while the demo runs (e.g. 127.0.0.1:9252)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	if *plugin == "" {
		*plugin = filepath.Join(*out, "fleeting-plugin-ec2spot")
		build := exec.CommandContext(ctx, "go", "build", "-o", *plugin, "./cmd/fleeting-plugin-ec2spot")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fail(fmt.Errorf("build plugin: %w", err))
		}
	}
	abs, err := filepath.Abs(*plugin)
	if err != nil {
		fail(err)
	}
	// The official plugin runs in its own process behind gRPC, as ours
	// does: this command is its stand-in's binary.
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cfg := demo.Config{Plugin: abs, OfficialLikePlugin: self, Scenario: *scenario, OutDir: *out, Trace: *trace, Prices: *prices,
		Speed: *speed, Sequential: *sequential, Runs: *runs, Seed: *seed, Metrics: *metrics}
	if *only != "" {
		cfg.Modes = []workload.Mode{workload.Mode(*only)}
	}
	sum, err := demo.Run(ctx, cfg, os.Stdout)
	if err != nil {
		fail(err)
	}
	for i, n := range sum.LeftRunning {
		if n > 0 {
			fail(fmt.Errorf("%s left %d instances billing", sum.Results[i].Mode, n))
		}
	}
	for _, r := range sum.Repeats {
		for i, n := range r.LeftBilling {
			if n > 0 {
				fail(fmt.Errorf("%s %s left %d instances billing over its runs", r.Scenario, r.Modes[i], n))
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ec2spot-demo:", err)
	os.Exit(1)
}
