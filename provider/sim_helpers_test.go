package provider

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
)

// Helpers for tests of the InstanceGroup over the real SDK clients pointed
// at the simulator.

// TestMain sets the environment every test shares (fake credentials,
// region); each test's plugin reaches its own simulator through
// ec2spot.AWSOptions.Endpoint, so tests run in parallel.
func TestMain(m *testing.M) {
	simtest.StaticEnv()
	os.Exit(m.Run())
}

// fastSim starts a fast simulator for the test (and its subtests).
func fastSim(t *testing.T, opts awssim.Options) *awssim.Sim {
	t.Helper()
	return simtest.New(t, opts)
}

// testCtx bounds a test's calls: generous, it only stops a hung test (a
// loaded machine running -race is slow, not broken).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testPlugin is an InstanceGroup decoded from pluginConfig as fleeting's plugin
// server does it, with zero retry delays.
type testPlugin struct {
	*InstanceGroup
	log *simtest.LogBuffer
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
	endpoint := simtest.Endpoint(t) // the test's simulator, if it started one
	g.awsOptions = func(o *ec2spot.AWSOptions) { o.RetryBackoff, o.Endpoint = ec2spot.ZeroBackoff, endpoint }
	g.groupOptions = func(o *ec2spot.GroupOptions) {
		for _, m := range mod {
			m(o)
		}
	}
	return testPlugin{InstanceGroup: g, log: &simtest.LogBuffer{}}
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
	deadline := time.Now().Add(time.Minute)
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
