// Package demo runs the plugin binary through the real fleeting provisioner
// against the simulated AWS: scale up for a handful of jobs, run each job
// over SSH on its instance, scale down again, and report what happened.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Config of one demo run.
type Config struct {
	Plugin string        // path of the plugin binary
	Jobs   int           // jobs to run, one instance each (default 5)
	Speed  float64       // simulated seconds per real second (default 20)
	LogDir string        // where plugin.log goes (default a temp dir)
	Wait   time.Duration // real-time limit of the whole run (default 3m)
}

// Summary is what the run observed.
type Summary struct {
	Instances   []InstanceReport
	JobsOK      int
	JobsFailed  int
	LeftRunning int // instances still in the simulated account at the end
	Calls       map[string]int
	PluginLog   string
}

// InstanceReport is one instance's life as the provisioner and AWS saw it.
type InstanceReport struct {
	ID, Market, Type, AZ string
	States               []StateAt
	Job                  string // job output or error
}

// StateAt is a provisioner state and the simulated time it was first seen.
type StateAt struct {
	State provider.State
	At    time.Duration // since the run started, simulated
}

const groupName = "demo-runners"

// Run executes the demo and writes its progress and report to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	if cfg.Jobs <= 0 {
		cfg.Jobs = 5
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 20
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 3 * time.Minute
	}
	if cfg.LogDir == "" {
		dir, err := os.MkdirTemp("", "ec2spot-demo-")
		if err != nil {
			return nil, err
		}
		cfg.LogDir = dir
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Wait)
	defer cancel()

	sshPort, err := freePort()
	if err != nil {
		return nil, err
	}
	sim, err := awssim.Start(awssim.Options{
		Speed:          cfg.Speed,
		BootDelay:      40 * time.Second,
		TerminateDelay: 30 * time.Second,
		SSH:            &awssim.SSHOptions{Port: sshPort},
	})
	if err != nil {
		return nil, fmt.Errorf("start simulated AWS: %w", err)
	}
	defer sim.Close()

	if err := sim.CreateGroup(awssim.GroupSpec{
		Name:          groupName,
		MaxSize:       cfg.Jobs * 2,
		InstanceTypes: []string{"t3.micro", "t3a.micro", "m5.large"},
		OnDemandBase:  1,
	}); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	start := sim.Now()
	since := func() time.Duration { return sim.Now().Sub(start).Round(time.Second) }

	// The plugin inherits this environment, as it inherits the runner's.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":          sim.URL(),
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "AKIADEMO000000000000",
		"AWS_SECRET_ACCESS_KEY":     "demo-secret",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}

	logPath := filepath.Join(cfg.LogDir, "plugin.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	logger := hclog.New(&hclog.LoggerOptions{Name: "fleeting", Output: logFile, Level: hclog.Debug, JSONFormat: true})

	pluginConfig, _ := json.Marshal(map[string]any{"name": groupName})
	runner, err := fleeting.RunPlugin(cfg.Plugin, pluginConfig, fleeting.WithPluginLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("start plugin %s: %w", cfg.Plugin, err)
	}
	defer runner.Kill()

	var (
		mu     sync.Mutex
		states = map[string][]StateAt{}
	)
	record := func(insts []fleeting.Instance) {
		mu.Lock()
		defer mu.Unlock()
		for _, inst := range insts {
			h := states[inst.ID()]
			if len(h) == 0 || h[len(h)-1].State != inst.State() {
				states[inst.ID()] = append(h, StateAt{inst.State(), since()})
			}
		}
	}

	fmt.Fprintf(out, "simulated AWS at %s, clock x%g; group %s (1 on-demand base, spot above)\n", sim.URL(), cfg.Speed, groupName)
	prov, err := fleeting.Init(ctx, logger, runner.InstanceGroup(),
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: provider.ConnectorConfig{
			Protocol:     provider.ProtocolSSH,
			ProtocolPort: sshPort,
			Timeout:      time.Minute,
		}}),
		fleeting.WithUpdateInterval(2*time.Second),
		fleeting.WithUpdateIntervalWhenExpecting(250*time.Millisecond),
		fleeting.WithDeletionRetryInterval(5*time.Second),
		fleeting.WithSubscriber(record),
	)
	if err != nil {
		return nil, fmt.Errorf("fleeting init (see %s): %w", logPath, err)
	}

	fmt.Fprintf(out, "[%6s] requesting %d instances for %d jobs\n", since(), cfg.Jobs, cfg.Jobs)
	prov.Request(cfg.Jobs)

	jobs := map[string]string{}
	var jobsMu sync.Mutex
	var wg sync.WaitGroup
	started := map[string]bool{}
	for len(started) < cfg.Jobs {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("only %d of %d instances became running in time (see %s)", len(started), cfg.Jobs, logPath)
		}
		for _, inst := range prov.Instances() {
			if inst.State() != provider.StateRunning || started[inst.ID()] {
				continue
			}
			started[inst.ID()] = true
			fmt.Fprintf(out, "[%6s] %s running, starting job %d\n", since(), inst.ID(), len(started))
			wg.Add(1)
			go func(inst fleeting.Instance, n int) {
				defer wg.Done()
				res := runJob(ctx, inst, n)
				jobsMu.Lock()
				jobs[inst.ID()] = res
				jobsMu.Unlock()
			}(inst, len(started))
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()

	fmt.Fprintf(out, "[%6s] jobs done; removing instances\n", since())
	for _, inst := range prov.Instances() {
		inst.Delete()
	}
	for len(prov.Instances()) > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	// AWS still bills what is terminating: wait until the account is empty.
	for countLive(sim) > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(out, "[%6s] scaled down to 0\n", since())
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
	prov.Shutdown(shutdownCtx)
	cancelShutdown()

	sum := &Summary{Calls: sim.Calls(), LeftRunning: countLive(sim), PluginLog: logPath}
	mu.Lock()
	for id, h := range states {
		rep := InstanceReport{ID: id, States: h, Job: jobs[id]}
		if inst, ok := sim.Instance(id); ok {
			rep.Market, rep.Type, rep.AZ = string(inst.Market), inst.InstanceType, inst.AZ
		}
		if strings.HasPrefix(rep.Job, "ok") {
			sum.JobsOK++
		} else {
			sum.JobsFailed++
		}
		sum.Instances = append(sum.Instances, rep)
	}
	mu.Unlock()
	sort.Slice(sum.Instances, func(i, j int) bool { return sum.Instances[i].ID < sum.Instances[j].ID })
	report(out, sum)
	if ctx.Err() != nil {
		return sum, fmt.Errorf("demo did not finish in %s: %w", cfg.Wait, ctx.Err())
	}
	return sum, nil
}

// runJob connects the way the runner does, with the ConnectInfo the plugin
// returns, and runs a command standing in for a CI job.
func runJob(ctx context.Context, inst fleeting.Instance, n int) string {
	info, err := inst.ConnectInfo(ctx)
	if err != nil {
		return "connect info: " + err.Error()
	}
	var stdout, stderr bytes.Buffer
	err = connector.Run(ctx, info, connector.ConnectorOptions{RunOptions: connector.RunOptions{
		Command: fmt.Sprintf("echo job %d ran as $(id -un 2>/dev/null || echo user)", n),
		Stdout:  &stdout,
		Stderr:  &stderr,
	}})
	if err != nil {
		return "job failed: " + err.Error()
	}
	return "ok: " + strings.TrimSpace(stdout.String())
}

func countLive(sim *awssim.Sim) int {
	n := 0
	for _, inst := range sim.Instances() {
		if inst.State != "terminated" {
			n++
		}
	}
	return n
}

func report(out io.Writer, sum *Summary) {
	fmt.Fprintln(out, "\ninstances (times are simulated, since the start):")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tMARKET\tTYPE\tAZ\tSTATES\tJOB")
	for _, r := range sum.Instances {
		var hist []string
		for _, s := range r.States {
			hist = append(hist, fmt.Sprintf("%s@%s", s.State, s.At))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Market, r.Type, r.AZ, strings.Join(hist, " → "), r.Job)
	}
	tw.Flush()

	var keys []string
	total := 0
	for k, v := range sum.Calls {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	fmt.Fprintf(out, "\nAWS API calls (%d in all):\n", total)
	for _, k := range keys {
		fmt.Fprintf(out, "  %-55s %d\n", k, sum.Calls[k])
	}
	fmt.Fprintf(out, "\njobs: %d ok, %d failed; instances left in the account: %d\nplugin log: %s\n",
		sum.JobsOK, sum.JobsFailed, sum.LeftRunning, sum.PluginLog)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var _ = errors.New
