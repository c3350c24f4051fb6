package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Helpers for tests of the InstanceGroup over the real SDK clients pointed
// at the simulator.

func fastSim(t *testing.T, opts awssim.Options) *awssim.Sim {
	t.Helper()
	if opts.Speed == 0 {
		opts.Speed = 100
	}
	if opts.BootDelay == 0 {
		opts.BootDelay = 2 * time.Second
	}
	if opts.TerminateDelay == 0 {
		opts.TerminateDelay = 2 * time.Second
	}
	s, err := awssim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSIMTEST0000000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "simulated-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", s.URL())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) contains(s string) bool { return strings.Contains(b.String(), s) }

// testPlugin is an InstanceGroup decoded from pluginConfig as fleeting's plugin
// server does it, with zero retry delays.
type testPlugin struct {
	*InstanceGroup
	log *logBuffer
}

func newPlugin(t *testing.T, pluginConfig any, mod ...func(*ec2spot.GroupOptions)) testPlugin {
	t.Helper()
	js, err := json.Marshal(pluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	g := &InstanceGroup{}
	if err := json.Unmarshal(js, g); err != nil {
		t.Fatal(err)
	}
	g.awsOptions = func(o *ec2spot.AWSOptions) { o.RetryBackoff = ec2spot.ZeroBackoff }
	g.groupOptions = func(o *ec2spot.GroupOptions) {
		for _, m := range mod {
			m(o)
		}
	}
	return testPlugin{InstanceGroup: g, log: &logBuffer{}}
}

func (p testPlugin) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: p.log, Level: hclog.Debug})
}

// initPlugin creates the group "runners" in the simulator and initialises
// a plugin over it.
func initPlugin(t *testing.T, s *awssim.Sim, spec awssim.GroupSpec, settings provider.Settings, mod ...func(*ec2spot.GroupOptions)) (testPlugin, provider.ProviderInfo) {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "runners"
	}
	if err := s.CreateGroup(spec); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, map[string]any{"name": spec.Name}, mod...)
	info, err := p.Init(testCtx(t), p.logger(), settings)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return p, info
}

// states runs Update and collects what it reports.
func (p testPlugin) states(t *testing.T) map[string]provider.State {
	t.Helper()
	got := map[string]provider.State{}
	if err := p.Update(testCtx(t), func(id string, st provider.State) { got[id] = st }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	return got
}

// waitRunning waits until Update reports n running instances.
func (p testPlugin) waitRunning(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids = ids[:0]
		for id, st := range p.states(t) {
			if st == provider.StateRunning {
				ids = append(ids, id)
			}
		}
		if len(ids) == n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d running instances (have %d)", n, len(ids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
