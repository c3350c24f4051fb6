// Package driver is a taskscaler-like job driver for simulations: it takes
// jobs from a queue, reserves and acquires slots on instances of a real
// fleeting provisioner, runs the jobs over the connector and scales the
// instance group with the runner's autoscaler policies.
//
// It follows ../shared/reference/runner-contract.md §10. Where taskscaler's
// behaviour is inferred rather than read from its code or docs, the rule is
// a knob of Config with the inferred behaviour as its default.
package driver

import (
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// Config is the runner's [runners.autoscaler] section plus the inferred
// rules. Durations are simulated time.
type Config struct {
	// CapacityPerInstance is the job slots per instance (default 1).
	CapacityPerInstance int
	// MaxUseCount removes an instance once idle after this many jobs
	// (0 = unlimited). A use is counted at acquire [I].
	MaxUseCount int
	// MaxInstances caps the group (0 = the plugin's MaxSize).
	MaxInstances int
	// Policies are the [[runners.autoscaler.policy]] blocks; the last whose
	// periods match wins. None, or none matching, is the zero policy [I].
	Policies []Policy
	// InstanceReadyCommand runs over the connector when an instance becomes
	// running; it takes no jobs before it succeeds, and a failure removes it.
	InstanceReadyCommand string
	// AcquireTimeout fails a job that got no slot in time
	// ("unable to acquire instance within the configured timeout"); default 15m.
	AcquireTimeout time.Duration
	// Retry is the jobs' GitLab `retry: max` (0–2) with `when:
	// runner_system_failure`: a job failed by its instance going away, a
	// failed connect or the acquire timeout is queued again, up to Retry
	// times [D]. 0 (GitLab's default) fails it for good.
	Retry int
	// Concurrent caps jobs taken at once (the runner's concurrent/limit);
	// default MaxInstances × CapacityPerInstance.
	Concurrent int

	// Tick is how often the driver reconciles (default 1s) [I].
	Tick time.Duration
	// ScaleFactorAdds makes the idle target idle_count + scale_factor ×
	// in-use instead of the default max of the two [I: docs ambiguous].
	ScaleFactorAdds bool
	// ReservationThrottling refuses a reservation when reservations ≥
	// max(1, free slots − capacity_per_instance) (MR !60). Off by default:
	// read literally it serialises a scale-up from zero to one boot per job,
	// which no runner shows [I].
	ReservationThrottling bool
	// HeartbeatInterval is how often idle ready instances are checked with
	// Heartbeat (default 30s); every placement checks first anyway. An
	// instance reported provider.ErrInstanceUnhealthy takes no more jobs and
	// is removed once idle [I: taskscaler heartbeats only behind a feature
	// flag and replaces after failure_threshold].
	HeartbeatInterval time.Duration
	// FailureThreshold is the heartbeat failures in a row (other than
	// ErrInstanceUnhealthy, which counts at once) that make an instance
	// unhealthy (default 3, the runner's failure_threshold).
	FailureThreshold int
	// FailOnDeleting fails an instance's jobs as soon as it is reported
	// deleting, not when it is gone (deleted, timeout, dropped) — the
	// runner's documented trigger, and the default [D].
	FailOnDeleting bool
	// ConnectTimeout bounds one connection (ConnectInfo, dial, command);
	// default 5m. Needed because fleeting's connector retries failed SSH
	// handshakes without counting its 2 s sleeps against its timeout.
	ConnectTimeout time.Duration
	// ConnectCommand is the short real command run over SSH when a job
	// starts, proving the connection (default "true"; "-" skips connecting).
	ConnectCommand string

	// Provisioner intervals in simulated time; Speed converts them to the
	// real time fleeting's provisioner waits (defaults: fleeting's 1m, 2s, 1m).
	UpdateInterval, UpdateIntervalWhenExpecting, DeletionRetryInterval time.Duration

	// Now is the simulated clock; Speed is simulated seconds per real second.
	Now   func() time.Time
	Speed float64
	// Connector is the runner's connector_config.
	Connector provider.ConnectorConfig
	Logger    hclog.Logger
	// OnEvent receives every event, synchronously from the driver loop:
	// return at once.
	OnEvent func(Event)
}

// Policy is one [[runners.autoscaler.policy]] block.
type Policy struct {
	// Periods are cron expressions "min hour dom month dow" in UTC of the
	// simulated clock; empty matches always.
	Periods []string
	// IdleCount is idle capacity in job slots.
	IdleCount int
	// IdleTime is how long an instance stays idle (after its last job or
	// becoming ready) before it may be removed.
	IdleTime time.Duration
	// ScaleFactor × in-use slots is extra idle capacity, capped by
	// ScaleFactorLimit (0 = no cap).
	ScaleFactor      float64
	ScaleFactorLimit int
	// PreemptiveMode: nil defaults to IdleCount > 0 (as the runner). On: a
	// job is taken only when a ready idle slot is confirmed. Off: jobs are
	// taken first, up to MaxInstances × CapacityPerInstance.
	PreemptiveMode *bool
}

// Preemptive reports the effective preemptive mode.
func (p Policy) Preemptive() bool {
	if p.PreemptiveMode != nil {
		return *p.PreemptiveMode
	}
	return p.IdleCount > 0
}

func (c *Config) defaults(maxSize int) {
	if c.CapacityPerInstance <= 0 {
		c.CapacityPerInstance = 1
	}
	c.Retry = min(max(c.Retry, 0), 2) // GitLab's range
	if c.MaxInstances <= 0 || c.MaxInstances > maxSize {
		c.MaxInstances = maxSize
	}
	if c.AcquireTimeout <= 0 {
		c.AcquireTimeout = 15 * time.Minute
	}
	if c.Concurrent <= 0 {
		c.Concurrent = c.MaxInstances * c.CapacityPerInstance
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 30 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Minute
	}
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = 3
	}
	if c.ConnectCommand == "" {
		c.ConnectCommand = "true"
	}
}

// DefaultUpdateIntervalWhenExpecting is fleeting's update loop while
// instances are on their way: the resolution at which any plugin can see
// an instance come up.
const DefaultUpdateIntervalWhenExpecting = 2 * time.Second

func (c *Config) clockDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Speed <= 0 {
		c.Speed = 1
	}
	if c.UpdateInterval <= 0 {
		c.UpdateInterval = time.Minute
	}
	if c.UpdateIntervalWhenExpecting <= 0 {
		c.UpdateIntervalWhenExpecting = DefaultUpdateIntervalWhenExpecting
	}
	if c.DeletionRetryInterval <= 0 {
		c.DeletionRetryInterval = time.Minute
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
}

// real converts a simulated duration to the real time it takes, never below
// a millisecond: fleeting treats zero intervals as a hot loop.
func (c *Config) real(d time.Duration) time.Duration {
	r := time.Duration(float64(d) / c.Speed)
	if r < time.Millisecond {
		r = time.Millisecond
	}
	return r
}
