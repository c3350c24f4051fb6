package provider

import (
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The defaults of plugin_config, all here: the constants, and one table
// that applies them. The README's config reference shows the same values
// (TestREADMEConfigDefaultsMatchTheTable keeps the two equal).
const (
	// DefaultRetryMode is "standard": the shared per-family limiters
	// (api_rate_limits) already slow every client down after a throttle;
	// the SDK's adaptive mode would add a second, per-client slowdown that
	// holds back an urgent SetDesiredCapacity behind it.
	DefaultRetryMode        = "standard"
	DefaultRetryMaxAttempts = 3
	// DefaultAPICallTimeout bounds one HTTP attempt: fleeting gives Update,
	// Increase and Decrease no deadline, so a hung connection would stall
	// the provisioner loop for good.
	DefaultAPICallTimeout = 30 * time.Second
	DefaultSessionName    = "fleeting-plugin-ec2spot"
	// metrics_listen has no default: unset serves no metrics.
	DefaultReadyWhen = string(ec2spot.ReadyRunning)

	DefaultRebalance              = string(ec2spot.RebalanceDrain)
	DefaultFallbackAfter          = 2 * time.Minute
	DefaultFallbackHold           = 10 * time.Minute
	DefaultSpotAllocationStrategy = "price-capacity-optimized"
	DefaultLaunchMode             = LaunchModeAsynchronous
	// DefaultPollInterval bounds the spot request poll, and the describes
	// while nothing in the group is in motion, whatever fleeting's pace
	// (every 2 s while it expects changes). The poll only paces the
	// replacement of a doomed instance: ConnectInfo and Heartbeat check a
	// stale answer themselves (DefaultSpotCheckMaxAge), and each such
	// check covers every member and counts as the poll.
	DefaultPollInterval = 30 * time.Second
	// waitReuseDivisor: while the plugin only waits on AWS (its own
	// terminations, status checks) and fleeting polls every 2 s, the
	// group is described at most every poll_interval / 3 (10 s by
	// default); fleeting sees a terminated instance gone up to that much
	// later.
	waitReuseDivisor = 3
	// statusCheckDivisor: with ready_when = "status-ok" the status checks
	// of waiting members are asked at most every poll_interval / 10 (3 s
	// by default: every other of fleeting's 2 s Updates). EC2 runs them
	// once a minute, so an instance is seen passing on average 1 s later
	// than when asked on every Update.
	statusCheckDivisor = 10
	// DefaultSpotCheckMaxAge: ConnectInfo and Heartbeat check the
	// instance's spot request when the last answer is older, so a doomed
	// instance is refused within 5 s of its notice, queue or not.
	DefaultSpotCheckMaxAge = 3 * time.Second

	// API budgets. Auto Scaling's account-wide bucket (refill about 10/s)
	// is shared with every other manager, the console and Terraform, so
	// the plugin takes half of it; one Update every 2 s uses 0.5/s. EC2
	// and Instance Connect match their services' non-mutating refill rates.
	DefaultAutoScalingRate      = 5
	DefaultAutoScalingBurst     = 20
	DefaultEC2Rate              = 20
	DefaultEC2Burst             = 50
	DefaultInstanceConnectRate  = 10
	DefaultInstanceConnectBurst = 20
)

// configDefault fills one key when it is unset (zero). Keys of an optional
// table (assume_role, on_demand_fallback, fleet) are filled only when the
// table is present: its presence turns the feature on.
type configDefault struct {
	key   string
	apply func(c *Config)
}

var configDefaults = []configDefault{
	{"retry_mode", func(c *Config) { orDefault(&c.RetryMode, DefaultRetryMode) }},
	{"retry_max_attempts", func(c *Config) { orDefault(&c.RetryMaxAttempts, DefaultRetryMaxAttempts) }},
	{"api_call_timeout", func(c *Config) { orDefault(&c.APICallTimeout.Duration, DefaultAPICallTimeout) }},
	{"assume_role.session_name", func(c *Config) {
		if c.AssumeRole != nil {
			orDefault(&c.AssumeRole.SessionName, DefaultSessionName)
		}
	}},
	{"rebalance", func(c *Config) { orDefault(&c.Rebalance, DefaultRebalance) }},
	{"on_demand_fallback.after", func(c *Config) {
		if c.OnDemandFallback != nil {
			orDefault(&c.OnDemandFallback.After.Duration, DefaultFallbackAfter)
		}
	}},
	{"on_demand_fallback.hold", func(c *Config) {
		if c.OnDemandFallback != nil {
			orDefault(&c.OnDemandFallback.Hold.Duration, DefaultFallbackHold)
		}
	}},
	{"fleet.spot_allocation_strategy", func(c *Config) {
		if c.Fleet != nil {
			orDefault(&c.Fleet.SpotAllocationStrategy, DefaultSpotAllocationStrategy)
		}
	}},
	{"ready_when", func(c *Config) { orDefault(&c.ReadyWhen, DefaultReadyWhen) }},
	{"launch_mode", func(c *Config) { orDefault(&c.LaunchMode, DefaultLaunchMode) }},
	{"poll_interval", func(c *Config) { orDefault(&c.PollInterval.Duration, DefaultPollInterval) }},
	{"spot_check_max_age", func(c *Config) { orDefault(&c.SpotCheckMaxAge.Duration, DefaultSpotCheckMaxAge) }},
	{"api_rate_limits.autoscaling", func(c *Config) { orDefault(&c.limits().AutoScaling, DefaultAutoScalingRate) }},
	{"api_rate_limits.ec2", func(c *Config) { orDefault(&c.limits().EC2, DefaultEC2Rate) }},
	{"api_rate_limits.instance_connect", func(c *Config) { orDefault(&c.limits().InstanceConnect, DefaultInstanceConnectRate) }},
	{"api_rate_bursts.autoscaling", func(c *Config) { orDefault(&c.bursts().AutoScaling, DefaultAutoScalingBurst) }},
	{"api_rate_bursts.ec2", func(c *Config) { orDefault(&c.bursts().EC2, DefaultEC2Burst) }},
	{"api_rate_bursts.instance_connect", func(c *Config) { orDefault(&c.bursts().InstanceConnect, DefaultInstanceConnectBurst) }},
}

// applyDefaults fills every unset key from configDefaults. It runs on a
// freshly decoded Config only (ParseConfig), never on a copy that shares
// tables with another.
func (c *Config) applyDefaults() {
	for _, d := range configDefaults {
		d.apply(c)
	}
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// limits and bursts return the budget tables, created when left out: every
// family always has a budget.
func (c *Config) limits() *APIRateLimits {
	if c.APIRateLimits == nil {
		c.APIRateLimits = &APIRateLimits{}
	}
	return c.APIRateLimits
}

func (c *Config) bursts() *APIRateBursts {
	if c.APIRateBursts == nil {
		c.APIRateBursts = &APIRateBursts{}
	}
	return c.APIRateBursts
}
