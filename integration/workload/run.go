package workload

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/officiallike"
	ec2spotprovider "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// Mode is which instance group drives the run.
type Mode string

const (
	Ours         Mode = "ours"          // the plugin binary over gRPC
	OfficialLike Mode = "official-like" // integration/officiallike, over gRPC when Options.OfficialLikePlugin is set
)

// Options of one run.
type Options struct {
	Plugin string // the plugin binary (Ours)
	// OfficialLikePlugin is a binary that serves the official-like group
	// as a fleeting plugin (officiallike.ServeIfPlugin), so both modes pay
	// the same gRPC round trip and second process, as the real official
	// plugin does; "" runs it in process (tests that compare no figures).
	OfficialLikePlugin string
	LogDir             string // plugin.log / provisioner logs go here
	// Progress gets a line per simulated ProgressEvery (default 2m); nil = none.
	Progress      io.Writer
	ProgressEvery time.Duration
	// SampleEvery is the sampling interval of the account (default 10s).
	SampleEvery time.Duration
	// KeyBits of the official-like per-call RSA key (default 4096).
	KeyBits int
	// KeygenCost is the simulated time one official-like key costs; 0
	// measures generating one KeyBits key on this machine at the start
	// (real CPU time must not be stretched by the clock's speed); < 0
	// generates every key for real, stretched.
	KeygenCost time.Duration
}

// Result is everything a run recorded.
type Result struct {
	Scenario string
	Mode     Mode
	Jobs     int // submitted
	Events   []Event
	Calls    map[string]int
	End      time.Duration // simulated length of the run
	Wall     time.Duration
	Log      string
	// LeftBilling counts instances still billing when the run ended.
	LeftBilling int
	// PluginLatency is the real time of the instance group's calls.
	PluginLatency map[string]Latency
	// ReadyChecks: HandedUnready events were recorded.
	ReadyChecks bool
}

const region = "us-east-1"

// envMu serialises setting the plugin's environment and starting it: the
// child inherits os.Environ at start, and runs may be concurrent.
var envMu sync.Mutex

// Run plays the scenario once in the given mode against a fresh simulator.
func Run(ctx context.Context, sc Scenario, mode Mode, opt Options) (*Result, error) {
	began := time.Now()
	if opt.SampleEvery <= 0 {
		opt.SampleEvery = 10 * time.Second
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 2 * time.Minute
	}
	if sc.Drain <= 0 {
		sc.Drain = 15 * time.Minute
	}
	if opt.LogDir == "" {
		opt.LogDir = os.TempDir()
	}
	if sc.Group.Name == "" {
		sc.Group.Name = "ci-spot-runners"
	}
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	sim, err := awssim.Start(awssim.Options{
		Region: region, Speed: sc.Speed, BootDelay: sc.BootDelay, NoticePeriod: sc.NoticePeriod, StatusCheckDelay: sc.StatusCheckDelay,
		SSH: &awssim.SSHOptions{Port: port},
	})
	if err != nil {
		return nil, fmt.Errorf("start simulated AWS: %w", err)
	}
	defer sim.Close()
	if err := sim.CreateGroup(sc.Group); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}

	logPath := filepath.Join(opt.LogDir, fmt.Sprintf("%s-%s.log", sc.Name, mode))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	logger := hclog.New(&hclog.LoggerOptions{Name: string(mode), Output: logFile, Level: hclog.Debug, JSONFormat: true})

	clk := simClock{sim: sim, start: sim.Now(), speed: sc.Speed}
	plain, stopGroup, err := instanceGroup(sim, clk, sc, mode, opt, logger)
	if err != nil {
		return nil, err
	}
	defer stopGroup()
	group := &timedGroup{InstanceGroup: plain}

	rec := newRecorder(sim)
	rec.readyChecks = sc.StatusCheckDelay > 0
	cfg := sc.Driver
	cfg.Now, cfg.Speed, cfg.Logger, cfg.OnEvent = sim.Now, sc.Speed, logger, rec.driverEvent
	// Timeout is real time: fleeting's connector retries failed SSH
	// handshakes until it ends.
	cfg.Connector = provider.ConnectorConfig{Protocol: provider.ProtocolSSH, ProtocolPort: port, Timeout: 20 * time.Second}
	d, err := driver.New(ctx, group, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s (see %s): %w", mode, logPath, err)
	}
	dctx, stopDriver := context.WithCancel(ctx)
	var loops sync.WaitGroup
	loops.Add(1)
	go func() { defer loops.Done(); d.Run(dctx) }()

	// The run's clock starts once the runner is up (the plugin initialised,
	// fleeting's loop started), as in production, where a runner is up long
	// before its jobs: a plugin's one-off start-up time must not shift the
	// phase of its update loop against the job stream.
	start := sim.Now()
	rec.begin(start)
	clk.start = start
	jobs := sc.Workload.Jobs(sc.Seed)
	window := lastArrival(jobs)
	actx, stopActors := context.WithCancel(ctx)
	for _, actor := range scenarioActors(sc, sim, rec, window) {
		loops.Add(1)
		go func() { defer loops.Done(); actor(actx, clk) }()
	}
	loops.Add(1)
	go func() {
		defer loops.Done()
		nextProgress := time.Duration(0)
		prev := time.Duration(-1)
		for actx.Err() == nil {
			st := d.Stats()
			now := clk.now()
			// Charge the time since the last sample, not the nominal
			// interval: a late wake-up on a loaded machine must not
			// drop billed seconds.
			every := opt.SampleEvery
			if prev >= 0 {
				every = now - prev
			}
			prev = now
			s := sample(sim, every, st)
			rec.add(Event{T: now, Kind: Sampled, Sample: s})
			rec.bill(now, s)
			if opt.Progress != nil && now >= nextProgress {
				fmt.Fprintln(opt.Progress, progressLine(sc.Name, mode, now, s, st))
				nextProgress = now + opt.ProgressEvery
			}
			if !clk.sleep(actx, opt.SampleEvery) {
				return
			}
		}
	}()

	// Feed the jobs at their offsets.
	for i, j := range jobs {
		if !clk.sleepUntil(ctx, j.At) {
			break
		}
		d.Submit(driver.Job{ID: i + 1, Duration: j.Duration})
	}
	finished := func() bool { st := d.Stats(); return st.Done+st.Failed >= len(jobs) }
	waitFor(ctx, clk, window+sc.Drain, finished)
	d.Drain()
	waitFor(ctx, clk, clk.now()+sc.Drain, func() bool { return billing(sim) == 0 && finished() })
	end := clk.now()

	stopActors()
	stopDriver()
	loops.Wait()
	// Shut down even when ctx ended: the plugin must not leave instances.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	d.Shutdown(shutdownCtx)
	cancel()
	rec.add(Event{T: clk.now(), Kind: Sampled, Sample: sample(sim, 0, d.Stats())})
	res := &Result{Scenario: sc.Name, Mode: mode, Jobs: len(jobs), Events: rec.all(), Calls: sim.Calls(),
		End: end, Wall: time.Since(began), Log: logPath, LeftBilling: billing(sim),
		PluginLatency: group.latencies(), ReadyChecks: rec.readyChecks}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func instanceGroup(sim *awssim.Sim, clk simClock, sc Scenario, mode Mode, opt Options, logger hclog.Logger) (provider.InstanceGroup, func(), error) {
	switch mode {
	case OfficialLike:
		var keygenCost time.Duration
		if opt.KeygenCost >= 0 {
			keygenCost = opt.KeygenCost
			if keygenCost == 0 {
				keygenCost = measureKeygen(opt.KeyBits)
			}
			logger.Info("official-like per-call RSA key cost (simulated)", "bits", opt.KeyBits, "cost", keygenCost)
		}
		if opt.OfficialLikePlugin != "" {
			conf, err := officiallike.PluginConfig{Name: sc.Group.Name, Region: region, Endpoint: sim.URL(), KeyBits: opt.KeyBits,
				KeygenWait: time.Duration(float64(keygenCost) / max(sc.Speed, 1))}.Marshal()
			if err != nil {
				return nil, nil, err
			}
			runner, err := fleeting.RunPlugin(opt.OfficialLikePlugin, conf, fleeting.WithPluginLogger(logger))
			if err != nil {
				return nil, nil, fmt.Errorf("start official-like plugin %s: %w", opt.OfficialLikePlugin, err)
			}
			return runner.InstanceGroup(), runner.Kill, nil
		}
		g := &officiallike.Group{Name: sc.Group.Name, KeyBits: opt.KeyBits, Config: officiallike.SimConfig(region, sim.URL())}
		if keygenCost > 0 {
			g.KeygenCost = keygenCost
			g.Wait = func(ctx context.Context, d time.Duration) error {
				if !clk.sleep(ctx, d) {
					return ctx.Err()
				}
				return nil
			}
		}
		return g, func() {}, nil
	case Ours:
		conf, err := json.Marshal(pluginConfig(sc))
		if err != nil {
			return nil, nil, err
		}
		envMu.Lock()
		defer envMu.Unlock()
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL":          sim.URL(),
			"AWS_ACCESS_KEY_ID":         "AKIASIMULATION00000",
			"AWS_SECRET_ACCESS_KEY":     "sim-secret",
			"AWS_EC2_METADATA_DISABLED": "true",
		} {
			os.Setenv(k, v)
		}
		runner, err := fleeting.RunPlugin(opt.Plugin, conf, fleeting.WithPluginLogger(logger))
		if err != nil {
			return nil, nil, fmt.Errorf("start plugin %s: %w", opt.Plugin, err)
		}
		return runner.InstanceGroup(), runner.Kill, nil
	}
	return nil, nil, fmt.Errorf("unknown mode %q", mode)
}

// pluginConfig is ours' plugin_config for the scenario.
func pluginConfig(sc Scenario) map[string]any {
	conf := map[string]any{}
	for k, v := range sc.PluginConfig {
		conf[k] = v
	}
	conf["name"], conf["region"] = sc.Group.Name, region
	if f := sc.Fallback; f != nil {
		wall := func(d time.Duration) string {
			return max(time.Duration(float64(d)/sc.Speed), time.Second).Round(time.Millisecond).String()
		}
		conf["on_demand_fallback"] = map[string]any{"after": wall(f.After), "hold": wall(f.Hold)}
	}
	ScaleFreshness(conf, sc.Speed)
	// The plugin paces its calls in real time; at a faster clock the runner
	// makes proportionally more calls per real second, so its budgets scale
	// with the clock as the simulator's throttles do (capped at the
	// plugin's maximum). Without this the plugin's own limiter, not AWS,
	// would decide the job waits.
	if _, set := conf["api_rate_limits"]; !set {
		scaled := func(perSecond float64) float64 { return min(perSecond*max(sc.Speed, 1), 1000) }
		conf["api_rate_limits"] = map[string]any{
			"autoscaling":      scaled(ec2spotprovider.DefaultAutoScalingRate),
			"ec2":              scaled(ec2spotprovider.DefaultEC2Rate),
			"instance_connect": scaled(ec2spotprovider.DefaultInstanceConnectRate),
		}
	}
	return conf
}

// measureKeygen times one RSA key generation (the cost per connection of
// the official plugin).
func measureKeygen(bits int) time.Duration {
	if bits == 0 {
		bits = 4096
	}
	began := time.Now()
	if _, err := rsa.GenerateKey(rand.Reader, bits); err != nil {
		return time.Second
	}
	return time.Since(began)
}

func lastArrival(jobs []JobSpec) time.Duration {
	var last time.Duration
	for _, j := range jobs {
		last = max(last, j.At)
	}
	return last
}

// billing counts instances AWS still bills.
func billing(sim *awssim.Sim) int {
	n := 0
	for _, inst := range sim.Instances() {
		if inst.State != "terminated" && inst.State != "stopped" {
			n++
		}
	}
	return n
}

func waitFor(ctx context.Context, clk simClock, until time.Duration, cond func() bool) {
	for ctx.Err() == nil && clk.now() < until && !cond() {
		clk.sleep(ctx, time.Second)
	}
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// simClock sleeps in simulated time.
type simClock struct {
	sim   *awssim.Sim
	start time.Time
	speed float64
}

func (c simClock) now() time.Duration { return c.sim.Now().Sub(c.start) }

// sleep waits d of simulated time; false when ctx ended.
func (c simClock) sleep(ctx context.Context, d time.Duration) bool {
	return c.sleepUntil(ctx, c.now()+d)
}

func (c simClock) sleepUntil(ctx context.Context, t time.Duration) bool {
	for {
		left := t - c.now()
		if left <= 0 {
			return true
		}
		wall := max(time.Duration(float64(left)/c.speed), time.Millisecond)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wall):
		}
	}
}

// ScaleFreshness sets the plugin's freshness rules in plugin_config conf
// (those left unset) for a simulated clock speed× the real one: they run
// on the real clock, so scaled they keep their simulated cadence — the
// spot poll, the checks of ConnectInfo and Heartbeat, and the describes
// the plugin may skip (poll_interval / 3), which unscaled would stand for
// speed× as long in simulated time.
func ScaleFreshness(conf map[string]any, speed float64) {
	for key, d := range map[string]time.Duration{
		"poll_interval":      ec2spotprovider.DefaultPollInterval,
		"spot_check_max_age": ec2spotprovider.DefaultSpotCheckMaxAge,
	} {
		if _, set := conf[key]; !set {
			conf[key] = max(time.Duration(float64(d)/max(speed, 1)), 100*time.Millisecond).Round(time.Millisecond).String()
		}
	}
}
