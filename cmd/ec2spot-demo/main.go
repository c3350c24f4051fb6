// Command ec2spot-demo is `make demo`: the plugin binary, driven by the real
// fleeting provisioner, scaling a spot group on the embedded simulated AWS
// for a handful of jobs and back to zero. No AWS account or credentials.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
)

func main() {
	plugin := flag.String("plugin", "", "plugin binary (default: build ./cmd/fleeting-plugin-ec2spot)")
	jobs := flag.Int("jobs", 5, "jobs to run, one instance each")
	speed := flag.Float64("speed", 20, "simulated seconds per real second")
	out := flag.String("out", "demo-out", "directory for the plugin log")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
	sum, err := demo.Run(ctx, demo.Config{Plugin: abs, Jobs: *jobs, Speed: *speed, LogDir: *out, Wait: 3 * time.Minute}, os.Stdout)
	if err != nil {
		fail(err)
	}
	if sum.JobsFailed > 0 || sum.LeftRunning > 0 {
		fail(fmt.Errorf("%d jobs failed, %d instances left", sum.JobsFailed, sum.LeftRunning))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ec2spot-demo:", err)
	os.Exit(1)
}
