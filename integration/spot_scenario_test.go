package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/integration"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	ec2spotprovider "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// TestSpotScenarios drives the built plugin binary through the fleeting
// provisioner against the simulator: interruptions seen by polling and by
// the queue keep jobs off the doomed instance, and a spot outage falls back
// to on-demand and back, surviving a killed plugin.
func TestSpotScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	bin := integration.BuildPluginBinary(t, "../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")

	t.Run("interruption via polling", func(t *testing.T) {
		sim := startSpotSim(t, 20)
		createSpotGroup(t, sim)
		const interval = time.Second
		run := startSpotRun(t, bin, map[string]any{"name": "runners"}, interval, 200*time.Millisecond)
		ids := run.requestRunning(t, 3)
		jobs := startPlacer(t, run.prov)
		time.Sleep(2 * interval) // settle: every instance known, the provisioner idle
		before := sim.CallCount("autoscaling", "DescribeAutoScalingGroups")
		time.Sleep(interval)
		if n := sim.CallCount("autoscaling", "DescribeAutoScalingGroups") - before; n > 2 {
			t.Fatalf("%d updates in one idle interval", n)
		}
		time.Sleep(interval / 3) // off the update's phase

		victim := ids[0]
		start := time.Now()
		if err := sim.Interrupt(victim, "terminate"); err != nil {
			t.Fatal(err)
		}
		unhealthy, deleting := run.waitDoomed(t, victim, start)
		t.Logf("interruption → Heartbeat unhealthy %s, deleting %s (update interval %s)", unhealthy, deleting, interval)
		// Updates poll at most every poll_interval (10 s); Heartbeat checks
		// an answer older than spot_check_max_age (3 s) itself, and the
		// next Update reports what it found.
		if bound := ec2spotprovider.DefaultSpotCheckMaxAge + time.Second; unhealthy > bound {
			t.Errorf("Heartbeat unhealthy after %s, want within %s", unhealthy, bound)
		}
		if deleting > unhealthy+interval+500*time.Millisecond {
			t.Errorf("deleting after %s, want by the update after Heartbeat saw it (%s + %s)", deleting, unhealthy, interval)
		}
		jobs.assertNoneAfter(t, victim, start.Add(max(unhealthy, deleting)))
		jobs.assertPlacedOn(t, ids[1])
		run.assertLoggedOnce(t, "spot interruption notice", "instance", victim)
	})

	t.Run("interruption via the queue", func(t *testing.T) {
		// Slow enough that AWS takes the victim (2 simulated minutes) well
		// after the next update.
		sim := startSpotSim(t, 5)
		createSpotGroup(t, sim)
		url := sim.CreateQueue("interruptions")
		if err := sim.SubscribeQueue("interruptions"); err != nil {
			t.Fatal(err)
		}
		sim.SetEventDelivery(true, true)
		const interval = 5 * time.Second
		// One attempt: the failing poll below must not stall updates in retries.
		run := startSpotRun(t, bin, map[string]any{"name": "runners", "interruption_queue_url": url, "retry_max_attempts": 1}, interval, 200*time.Millisecond)
		ids := run.requestRunning(t, 3)
		jobs := startPlacer(t, run.prov)
		// Only the queue can tell now.
		sim.InjectFault(awssim.Fault{Service: "ec2", Action: "DescribeSpotInstanceRequests", Code: "InternalError"})
		time.Sleep(500 * time.Millisecond)

		victim, drained := ids[0], ids[1]
		start := time.Now()
		if err := sim.Interrupt(victim, "terminate"); err != nil {
			t.Fatal(err)
		}
		if err := sim.RecommendRebalance(drained); err != nil {
			t.Fatal(err)
		}
		unhealthy, deleting := run.waitDoomed(t, victim, start)
		t.Logf("interruption → Heartbeat unhealthy %s (queue), deleting %s (next update; interval %s)", unhealthy, deleting, interval)
		if unhealthy > time.Second {
			t.Errorf("Heartbeat unhealthy after %s via the queue, want within a second", unhealthy)
		}
		if deleting > interval+time.Second {
			t.Errorf("deleting after %s, want by the next update (%s)", deleting, interval)
		}
		jobs.assertNoneAfter(t, victim, start.Add(unhealthy))
		if inst := run.instance(drained); inst == nil || inst.State() != provider.StateRunning || inst.Heartbeat(context.Background()) == nil {
			t.Errorf("rebalance-recommended %s should stay running but unhealthy (drain)", drained)
		}
		jobs.assertNoneAfter(t, drained, time.Now().Add(-500*time.Millisecond))
		run.assertLoggedOnce(t, "spot interruption notice", "instance", victim)
		run.assertLoggedOnce(t, "spot rebalance recommendation", "instance", drained)
	})

	t.Run("spot outage falls back to on-demand", func(t *testing.T) {
		sim := startSpotSim(t, 50)
		createSpotGroup(t, sim)
		cfg := map[string]any{"name": "runners", "on_demand_fallback": map[string]any{"after": "1s", "hold": "3s"}}
		run := startSpotRun(t, bin, cfg, time.Second, 200*time.Millisecond)
		setSpotCapacity(sim, 0)

		start := time.Now()
		run.prov.Request(2)
		waitFor(t, "fallback to on-demand", 15*time.Second, func() bool { return odPercentage(sim) == 100 })
		t.Logf("outage → on-demand after %s (after = 1s)", time.Since(start).Round(10*time.Millisecond))
		if time.Since(start) < time.Second {
			t.Errorf("switched after %s, before after = 1s", time.Since(start))
		}
		if tag := groupTag(sim); tag != "0" {
			t.Errorf("fallback tag %q, want the original percentage 0", tag)
		}
		ids := run.waitRunning(t, 2)
		for _, id := range ids {
			if inst, _ := sim.Instance(id); inst.Market != awssim.OnDemand {
				t.Errorf("%s arrived as %s during the fallback", id, inst.Market)
			}
		}
		t.Logf("on-demand instances running %s after the request", time.Since(start).Round(10*time.Millisecond))

		setSpotCapacity(sim, -1)
		recovered := time.Now()
		waitFor(t, "restore after hold", 15*time.Second, func() bool { return odPercentage(sim) == 0 && groupTag(sim) == "" })
		t.Logf("restored %s after spot recovered (hold = 3s)", time.Since(recovered).Round(10*time.Millisecond))

		// A second outage, and the plugin dies mid-fallback.
		setSpotCapacity(sim, 0)
		run.prov.Request(1)
		waitFor(t, "second fallback", 15*time.Second, func() bool { return odPercentage(sim) == 100 && groupTag(sim) == "0" })
		run.kill()
		if odPercentage(sim) != 100 || groupTag(sim) != "0" {
			t.Fatalf("killing the plugin changed the group: percentage %d, tag %q", odPercentage(sim), groupTag(sim))
		}
		gr, _ := sim.Group("runners")
		failed := 0
		for _, a := range gr.Activities {
			if a.StatusCode == "Failed" {
				failed++
			}
		}
		t.Logf("%d failed launch activities in the group", failed)
		causes := run.logCounts("auto scaling group could not launch an instance", "cause")
		if len(causes) == 0 || failed < 2 {
			t.Errorf("want several failed activities (%d) explained; logged causes: %v", failed, causes)
		}
		for cause, n := range causes {
			if n != 1 {
				t.Errorf("cause %q logged %d times, want once", cause, n)
			}
		}

		restart := startSpotRun(t, bin, cfg, time.Second, 200*time.Millisecond)
		if p, tag := odPercentage(sim), groupTag(sim); p != 0 || tag != "" {
			t.Errorf("after the restart: percentage %d, tag %q; want 0 and no tag", p, tag)
		}
		restart.assertLoggedOnce(t, "restored the on-demand percentage an earlier plugin process had switched", "tag", ec2spot.FallbackTagKey)
		setSpotCapacity(sim, -1)
	})
}

func startSpotSim(t *testing.T, speed float64) *awssim.Sim {
	t.Helper()
	sim, err := awssim.Start(awssim.Options{Speed: speed, BootDelay: 10 * time.Second, TerminateDelay: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDSIMTEST0000000000", "AWS_SECRET_ACCESS_KEY": "simulated-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": sim.URL(), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	return sim
}

var spotTypes = []string{"t3.micro", "t3a.micro", "m5.large"}

// createSpotGroup creates "runners": all spot, three types in three AZs.
func createSpotGroup(t *testing.T, sim *awssim.Sim) {
	t.Helper()
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 6, InstanceTypes: spotTypes}); err != nil {
		t.Fatal(err)
	}
}

func setSpotCapacity(sim *awssim.Sim, n int) {
	for _, typ := range spotTypes {
		sim.SetPoolCapacity(typ, "", awssim.Spot, n)
	}
}

func odPercentage(sim *awssim.Sim) int {
	gr, _ := sim.Group("runners")
	return gr.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity
}

func groupTag(sim *awssim.Sim) string {
	gr, _ := sim.Group("runners")
	return gr.Tags[ec2spot.FallbackTagKey]
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runSeq numbers plugin processes (for EC2SPOT_SCENARIO_LOGS file names).
var runSeq atomic.Int32

// spotRun is one plugin process under a fleeting provisioner.
type spotRun struct {
	runner *fleeting.Runner
	prov   *fleeting.Provisioner
	log    *jsonLog
	once   sync.Once
}

func startSpotRun(t *testing.T, bin string, pluginConfig map[string]any, interval, expecting time.Duration) *spotRun {
	t.Helper()
	seq := runSeq.Add(1)
	logs := &jsonLog{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "fleeting", Output: logs, Level: hclog.Debug, JSONFormat: true})
	cfg, err := json.Marshal(pluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := fleeting.RunPlugin(bin, cfg, fleeting.WithPluginLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prov, err := fleeting.Init(ctx, logger, runner.InstanceGroup(),
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: provider.ConnectorConfig{Timeout: time.Minute}}),
		fleeting.WithUpdateInterval(interval),
		fleeting.WithUpdateIntervalWhenExpecting(expecting),
		fleeting.WithDeletionRetryInterval(2*time.Second),
	)
	if err != nil {
		runner.Kill()
		t.Fatalf("fleeting init: %v\nplugin log:\n%s", err, logs)
	}
	r := &spotRun{runner: runner, prov: prov, log: logs}
	t.Cleanup(func() {
		r.once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			prov.Shutdown(ctx)
			runner.Kill()
		})
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs)
		}
		if dir := os.Getenv("EC2SPOT_SCENARIO_LOGS"); dir != "" {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
			_ = os.WriteFile(filepath.Join(dir, name+"."+strconv.Itoa(int(seq))+".log"), []byte(logs.String()), 0o600)
		}
	})
	return r
}

// kill ends the plugin process without a Shutdown, like a crash.
func (r *spotRun) kill() {
	r.once.Do(func() {
		r.runner.Kill()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r.prov.Shutdown(ctx)
	})
}

func (r *spotRun) instance(id string) fleeting.Instance {
	for _, inst := range r.prov.Instances() {
		if inst.ID() == id {
			return inst
		}
	}
	return nil
}

func (r *spotRun) waitRunning(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	waitFor(t, "running instances", 15*time.Second, func() bool {
		ids = ids[:0]
		for _, inst := range r.prov.Instances() {
			if inst.State() == provider.StateRunning {
				ids = append(ids, inst.ID())
			}
		}
		return len(ids) == n
	})
	return ids
}

func (r *spotRun) requestRunning(t *testing.T, n int) []string {
	t.Helper()
	r.prov.Request(n)
	return r.waitRunning(t, n)
}

// waitDoomed measures from start until Heartbeat fails and until the
// provisioner sees the instance deleting.
func (r *spotRun) waitDoomed(t *testing.T, id string, start time.Time) (unhealthy, deleting time.Duration) {
	t.Helper()
	waitFor(t, id+" unhealthy and deleting", 15*time.Second, func() bool {
		inst := r.instance(id)
		if inst == nil {
			t.Fatalf("%s vanished from the provisioner", id)
		}
		if unhealthy == 0 && inst.Heartbeat(context.Background()) != nil {
			unhealthy = time.Since(start)
		}
		if deleting == 0 && inst.State() == provider.StateDeleting {
			deleting = time.Since(start)
		}
		return unhealthy > 0 && deleting > 0
	})
	return unhealthy.Round(time.Millisecond), deleting.Round(time.Millisecond)
}

// logCounts counts the entries with the message by the value of field.
func (r *spotRun) logCounts(message, field string) map[string]int {
	out := map[string]int{}
	for _, e := range r.log.entries() {
		if e["@message"] == message {
			v, _ := e[field].(string)
			out[v]++
		}
	}
	return out
}

func (r *spotRun) assertLoggedOnce(t *testing.T, prefix, field, value string) {
	t.Helper()
	n := 0
	for _, e := range r.log.entries() {
		if msg, _ := e["@message"].(string); strings.HasPrefix(msg, prefix) && e[field] == value {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%q with %s=%s logged %d times, want once", prefix, field, value, n)
	}
}

// jsonLog collects hclog JSON lines, goroutine-safe.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *jsonLog) entries() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// placer is a minimal job driver: every tick it places a (momentary) job
// on each instance that is running and passes Heartbeat, as a runner only
// hands out running, healthy instances.
type placer struct {
	mu     sync.Mutex
	placed map[string][]time.Time // when the check that led to a placement began
}

func startPlacer(t *testing.T, prov *fleeting.Provisioner) *placer {
	p := &placer{placed: map[string][]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, inst := range prov.Instances() {
				at := time.Now()
				if inst.State() == provider.StateRunning && inst.Heartbeat(ctx) == nil {
					p.mu.Lock()
					p.placed[inst.ID()] = append(p.placed[inst.ID()], at)
					p.mu.Unlock()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// assertNoneAfter fails if a job was placed on id after the given time.
func (p *placer) assertNoneAfter(t *testing.T, id string, after time.Time) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // give a violation the chance to happen
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.placed[id] {
		if at.After(after) {
			t.Errorf("a job was placed on %s %s after it was known doomed", id, at.Sub(after))
			return
		}
	}
	if len(p.placed[id]) == 0 {
		t.Errorf("no job was ever placed on %s: the driver placed nothing", id)
	}
}

func (p *placer) assertPlacedOn(t *testing.T, id string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.placed[id]) == 0 {
		t.Errorf("no job placed on healthy %s", id)
	}
}
