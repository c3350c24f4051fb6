package driver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

const speed = 60

var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "driver-test-")
	if err != nil {
		panic(err)
	}
	pluginBin = filepath.Join(dir, "fleeting-plugin-ec2spot")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", pluginBin, "../../cmd/fleeting-plugin-ec2spot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rig is a simulator, the plugin binary and a driver on top.
type rig struct {
	t   *testing.T
	sim *awssim.Sim
	d   *driver.Driver

	mu     sync.Mutex
	events []driver.Event
}

var envMu sync.Mutex

func newRig(t *testing.T, cfg driver.Config) *rig {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	sim, err := awssim.Start(awssim.Options{Speed: speed, SSH: &awssim.SSHOptions{Port: port}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 10, OnDemandBase: 1}); err != nil {
		t.Fatal(err)
	}
	// As the demo does: else a describe the plugin may skip for 10 s would
	// stand for 10 simulated minutes.
	pc := map[string]any{"name": "runners", "region": "us-east-1"}
	workload.ScaleFreshness(pc, speed)
	conf, _ := json.Marshal(pc)
	envMu.Lock()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": sim.URL(), "AWS_ACCESS_KEY_ID": "AKIATEST0000000000", "AWS_SECRET_ACCESS_KEY": "x",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v) //nolint:usetesting // the rigs run in parallel (t.Setenv refuses that); envMu orders them
	}
	runner, err := fleeting.RunPlugin(pluginBin, conf, fleeting.WithPluginLogger(hclog.NewNullLogger()))
	envMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runner.Kill)

	r := &rig{t: t, sim: sim}
	cfg.Now, cfg.Speed = sim.Now, speed
	cfg.Connector = provider.ConnectorConfig{Protocol: provider.ProtocolSSH, ProtocolPort: port, Timeout: 20 * time.Second}
	cfg.OnEvent = func(e driver.Event) {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := driver.New(ctx, runner.InstanceGroup(), cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r.d = d
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		d.Shutdown(sctx)
		c()
	})
	return r
}

func (r *rig) all() []driver.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]driver.Event(nil), r.events...)
}

// waitFor polls cond up to limit of simulated time.
func (r *rig) waitFor(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(time.Duration(float64(limit) / speed))
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not within %s simulated; stats %+v", what, limit, r.d.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleep waits simulated time.
func (r *rig) sleep(d time.Duration) { time.Sleep(time.Duration(float64(d) / speed)) }

func (r *rig) count(kind driver.EventKind, match func(driver.Event) bool) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == kind && (match == nil || match(e)) {
			n++
		}
	}
	return n
}

// states is each instance's latest state (driver verdicts included).
func (r *rig) states() map[string]string {
	m := map[string]string{}
	for _, e := range r.all() {
		if e.Kind == driver.InstanceState {
			m[e.Instance] = e.State
		}
	}
	return m
}

func (r *rig) withState(state string) []string {
	var ids []string
	for id, s := range r.states() {
		if s == state {
			ids = append(ids, id)
		}
	}
	return ids
}

func (r *rig) dump() string {
	s := ""
	for _, e := range r.all() {
		s += fmt.Sprintf("%s %s job=%d inst=%s state=%s cause=%s %s\n", e.At.Format("15:04:05"), e.Kind, e.Job, e.Instance, e.State, e.Cause, e.Detail)
	}
	return s
}
