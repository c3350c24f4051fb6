package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
	ec2spotprovider "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// The plugin is built in a subprocess, which go test's result cache does not
// see; depending on the provider package ties cached results to its sources.
var _ ec2spotprovider.InstanceGroup

// Credentials the plugin gets from its environment; none may reach a log.
const (
	accessKey      = "AKIAFAULTSUITE000001"
	secretKey      = "faultSuiteSecret/DoNotLog+0123456789abcdefgh"
	sessionToken   = "FwoGZXIvYXdzFAULTSUITE//SessionToken+0123456789abcdef"
	operatorKey    = "AKIAFAULTOPERATOR001"
	operatorSecret = "faultSuiteOperatorSecret/0123456789abcdefgh"
)

const (
	groupName     = "runners"
	bystanderName = "bystanders"
	maxSize       = 6
)

var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ec2spot-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin = filepath.Join(dir, "fleeting-plugin-ec2spot")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", pluginBin, "../../cmd/fleeting-plugin-ec2spot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the plugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// env is one scenario's world: a simulator with the runner group, a
// bystander group and a standalone instance the plugin must never touch,
// and the plugin process under the provisioner.
type env struct {
	t        *testing.T
	sim      *awssim.Sim
	asg      *autoscaling.Client // the operator's, with its own key
	logs     *simtest.LogBuffer  // every log line: the provisioner's and the plugin's (relayed from its stderr)
	run      *pluginRun
	config   map[string]any
	foreign  []string // instances outside the group: never to be touched
	desired  int      // desired capacity the scenario's requests and deletions imply
	injected int      // faults injected (each injection, kill, or bad message counts)
	seen     map[string]bool
	seenMu   sync.Mutex
	// connector is the runner's connector_config.
	connector provider.ConnectorConfig
	// secrets the scenario handled (keys, passwords): never to be logged.
	secrets []string
}

type pluginRun struct {
	runner *fleeting.Runner
	prov   *fleeting.Provisioner
	causes sync.Map // id → fleeting.Cause
}

// newEnv builds a scenario's world; mod may change the runner group's
// spec (after the simulator starts, before the group exists).
func newEnv(t *testing.T, simOpts awssim.Options, config map[string]any, mod ...func(*awssim.Sim, *awssim.GroupSpec)) *env {
	t.Helper()
	if simOpts.Speed == 0 {
		simOpts.Speed = 100
	}
	if simOpts.BootDelay == 0 {
		simOpts.BootDelay = 5 * time.Second
	}
	if simOpts.TerminateDelay == 0 {
		simOpts.TerminateDelay = 5 * time.Second
	}
	simOpts.Credentials = map[string]string{accessKey: secretKey, operatorKey: operatorSecret}
	sim, err := awssim.Start(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	simtest.PointEnvAt(t, sim, accessKey, secretKey, sessionToken)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(operatorKey, operatorSecret, ""),
		BaseEndpoint: aws.String(sim.URL()),
		HTTPClient:   ec2spot.NewHTTPClient(0),
	}
	e := &env{t: t, sim: sim, asg: autoscaling.NewFromConfig(cfg), logs: &simtest.LogBuffer{}, seen: map[string]bool{},
		connector: provider.ConnectorConfig{Timeout: time.Minute}}
	if config == nil {
		config = map[string]any{}
	}
	config["name"] = groupName
	// Client-side budgets well above the suite's call rate: the suite
	// tests AWS's throttling, not the plugin's own pacing.
	config["api_rate_limits"] = map[string]any{"autoscaling": 200, "ec2": 200, "instance_connect": 200}
	e.config = config

	spec := awssim.GroupSpec{Name: groupName, MaxSize: maxSize}
	for _, m := range mod {
		m(sim, &spec)
	}
	for _, g := range []awssim.GroupSpec{spec, {Name: bystanderName, MaxSize: 2, Desired: 1}} {
		if err := sim.CreateGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	out, err := ec2.NewFromConfig(cfg).RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.foreign = append(e.foreign, aws.ToString(out.Instances[0].InstanceId))
	e.eventually("the bystander group launches", func() error {
		for _, i := range sim.Instances() {
			if i.Group == bystanderName {
				e.foreign = append(e.foreign, i.ID)
				return nil
			}
		}
		return fmt.Errorf("no bystander yet")
	})
	t.Cleanup(func() { e.stop() })
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// start runs the plugin binary through fleeting.Init, as the runner does.
func (e *env) start() {
	e.t.Helper()
	js, err := json.Marshal(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "fleeting", Output: e.logs, Level: hclog.Trace, JSONFormat: true})
	runner, err := fleeting.RunPlugin(pluginBin, js, fleeting.WithPluginLogger(logger))
	if err != nil {
		e.t.Fatalf("start plugin: %v", err)
	}
	run := &pluginRun{runner: runner}
	prov, err := fleeting.Init(ctx(e.t), logger, runner.InstanceGroup(),
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: e.connector}),
		fleeting.WithUpdateInterval(300*time.Millisecond),
		fleeting.WithUpdateIntervalWhenExpecting(100*time.Millisecond),
		fleeting.WithDeletionRetryInterval(time.Second),
		fleeting.WithShutdownDeletionRetries(1),
		fleeting.WithShutdownDeletionInterval(100*time.Millisecond),
		fleeting.WithSubscriber(func(insts []fleeting.Instance) {
			e.seenMu.Lock()
			defer e.seenMu.Unlock()
			for _, i := range insts {
				e.seen[i.ID()] = true
				run.causes.Store(i.ID(), i.Cause())
			}
		}),
	)
	if err != nil {
		runner.Kill()
		e.t.Fatalf("fleeting init: %v\n%s", err, tail(e.logs.String(), 30))
	}
	run.prov = prov
	e.run = run
}

// stop shuts the provisioner down the way the runner does, then the plugin.
func (e *env) stop() {
	if e.run == nil {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.run.prov.Shutdown(c)
	e.run.runner.Kill()
	e.run = nil
}

// kill SIGKILLs the plugin process (no Shutdown, no goodbye), then lets go
// of the provisioner that drove it.
func (e *env) kill() {
	e.t.Helper()
	e.injected++
	pid := pluginPID(e.t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		e.t.Fatalf("kill plugin %d: %v", pid, err)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.run.prov.Shutdown(c)
	e.run.runner.Kill()
	e.run = nil
}

// pluginPID finds the plugin process among this process's children.
func pluginPID(t *testing.T) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		exe, err := os.Readlink(d + "/exe")
		if err != nil || exe != pluginBin {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Skip("plugin process not found in /proc (not Linux?)")
	return 0
}

// request asks the provisioner for n more instances.
func (e *env) request(n int) {
	e.run.prov.Request(n)
	e.desired += n
}

// deleteRunning marks n running instances for removal and returns them.
func (e *env) deleteRunning(n int) []string {
	e.t.Helper()
	var ids []string
	for _, i := range e.run.prov.Instances() {
		if len(ids) == n {
			break
		}
		if i.State() == provider.StateRunning {
			i.Delete()
			ids = append(ids, i.ID())
		}
	}
	if len(ids) != n {
		e.t.Fatalf("only %d of %d running instances to delete", len(ids), n)
	}
	e.desired -= n
	return ids
}

func (e *env) inject(f awssim.Fault) string {
	e.injected++
	return e.sim.InjectFault(f)
}

// members are the group's instances that still exist in EC2, by id.
func (e *env) members() map[string]awssim.Instance {
	out := map[string]awssim.Instance{}
	for _, i := range e.sim.Instances() {
		if i.Group == groupName && i.State != "terminated" && i.Lifecycle != "Detached" {
			out[i.ID] = i
		}
	}
	return out
}

// eventually polls check until it passes or 30 s of real time are up.
func (e *env) eventually(what string, check func() error) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %v\nlast plugin log lines:\n%s", what, err, tail(e.logs.String(), 25))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) waitRunning(n int) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%d instances running", n), func() error {
		got := 0
		for _, i := range e.run.prov.Instances() {
			if i.State() == provider.StateRunning {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d running", got)
		}
		return nil
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
