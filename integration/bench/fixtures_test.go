package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// The simulated world of a run. Boots take bootDelay of simulated time,
// simSpeed times faster in real time; every API call takes apiLatency of
// real time, as a nearby AWS region would.
const (
	apiLatency     = 50 * time.Millisecond
	simSpeed       = 100
	bootDelay      = 100 * time.Second // 1 s of real time
	terminateDelay = 20 * time.Second
	accessKey      = "AKIDBENCH00000000000"
	secretKey      = "bench-secret"
)

var latencyServices = []string{"autoscaling", "ec2", "ec2-instance-connect"}

// startSim starts a simulator with the injected latency; throttle turns on
// AWS's default token buckets.
func startSim(throttle bool) (*awssim.Sim, error) {
	sim, err := awssim.Start(awssim.Options{Speed: simSpeed, BootDelay: bootDelay, TerminateDelay: terminateDelay, Throttle: throttle})
	if err != nil {
		return nil, err
	}
	for _, svc := range latencyServices {
		sim.SetLatency(svc, "", apiLatency)
	}
	return sim, nil
}

// bareConfig is a plain SDK configuration against sim: the floor's client,
// with the SDK's defaults and nothing of the plugin's.
func bareConfig(sim *awssim.Sim) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(sim.URL()),
		HTTPClient:   ec2spot.NewHTTPClient(0),
	}
}

// createRunning creates a group and waits until its desired capacity is in
// service.
func createRunning(sim *awssim.Sim, spec awssim.GroupSpec) error {
	if err := sim.CreateGroup(spec); err != nil {
		return err
	}
	return waitFor(2*time.Minute, fmt.Sprintf("%d instances of %s in service", spec.Desired, spec.Name), func() bool {
		return len(inService(sim, spec.Name)) == spec.Desired
	})
}

// running is the spec of a spot group of n running instances.
func running(name string, n int) awssim.GroupSpec {
	return awssim.GroupSpec{Name: name, Desired: n, MaxSize: n}
}

// inService lists a group's InService members.
func inService(sim *awssim.Sim, group string) []string {
	g, ok := sim.Group(group)
	if !ok {
		return nil
	}
	var ids []string
	for _, inst := range sim.Instances() {
		if inst.Group == g.Name && inst.Lifecycle == "InService" {
			ids = append(ids, inst.ID)
		}
	}
	return ids
}

func waitFor(limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// pointAt makes plugin processes started from now on use sim: they
// inherit the environment.
func pointAt(sim *awssim.Sim) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": sim.URL(), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		os.Setenv(k, v)
	}
}

// plugin is one plugin process.
type plugin struct {
	runner *fleeting.Runner
	group  provider.InstanceGroup
	pid    int
}

// startPlugin runs a plugin binary with its config and finds its process.
func startPlugin(bin string, config any) (*plugin, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	before := processesOf(bin)
	runner, err := fleeting.RunPlugin(bin, raw, fleeting.WithPluginLogger(pluginLogger()))
	if err != nil {
		return nil, err
	}
	p := &plugin{runner: runner, group: runner.InstanceGroup()}
	for _, pid := range processesOf(bin) {
		if !slices.Contains(before, pid) {
			p.pid = pid
		}
	}
	return p, nil
}

// initPlugin starts a plugin and initialises it directly (no provisioner).
func initPlugin(bin string, config any) (*plugin, error) {
	p, err := startPlugin(bin, config)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.group.Init(ctx, pluginLogger(), connectorSettings()); err != nil {
		p.runner.Kill()
		return nil, fmt.Errorf("plugin init: %w", err)
	}
	return p, nil
}

func connectorSettings() provider.Settings {
	return provider.Settings{ConnectorConfig: provider.ConnectorConfig{Protocol: provider.ProtocolSSH, Timeout: time.Minute}}
}

// pluginLogger keeps plugin logs out of the benchmark output.
func pluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: logFile, Level: hclog.Warn})
}

var logFile = os.Stderr

// processesOf lists the pids running bin (fleeting.RunPlugin hides the pid).
func processesOf(bin string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%s/exe", e.Name())); err == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// rssMB is a process's resident set size in MB (VmRSS).
func rssMB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				return 0, err
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// buildBinary builds a main package into dir.
func buildBinary(dir, pkg, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", out, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return out, nil
}

// percentile of samples (sorted in place), p in [0, 100].
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	k := int(float64(len(samples)-1)*p/100 + 0.5)
	return samples[k]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// countCalls sums the simulator's counters whose key starts with prefix.
func countCalls(calls map[string]int, prefix string) int {
	n := 0
	for k, v := range calls {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// must fails the benchmark on err.
func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
