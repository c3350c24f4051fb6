package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The spot keys of plugin_config: interruption_queue_url, rebalance,
// on_demand_fallback and fleet.

// OnDemandFallback is plugin_config.on_demand_fallback.
type OnDemandFallback struct {
	After Duration `json:"after"`
	Hold  Duration `json:"hold"`
}

// Fleet is plugin_config.fleet; absent keys leave the group untouched.
type Fleet struct {
	InstanceTypes                       []string `json:"instance_types"`
	OnDemandBaseCapacity                *int     `json:"on_demand_base_capacity"`
	OnDemandPercentageAboveBaseCapacity *int     `json:"on_demand_percentage_above_base_capacity"`
	SpotAllocationStrategy              string   `json:"spot_allocation_strategy"`
	CapacityRebalance                   *bool    `json:"capacity_rebalance"`
}

// Spot defaults, applied in applySpotDefaults.
const (
	DefaultRebalance              = string(ec2spot.RebalanceDrain)
	DefaultFallbackAfter          = 2 * time.Minute
	DefaultFallbackHold           = 10 * time.Minute
	DefaultSpotAllocationStrategy = "price-capacity-optimized"
	LaunchModeAsynchronous        = "asynchronous"
	LaunchModeSynchronous         = "synchronous"
	DefaultLaunchMode             = LaunchModeAsynchronous
	// DefaultPollInterval bounds the spot request poll, and the describes
	// while nothing in the group is in motion, whatever fleeting's pace
	// (every 2 s while it expects changes). The poll only paces the
	// replacement of a doomed instance: ConnectInfo and Heartbeat check a
	// stale answer themselves (DefaultSpotCheckMaxAge), and each such
	// check covers every member and counts as the poll.
	DefaultPollInterval = 30 * time.Second
	// DefaultSpotCheckMaxAge: ConnectInfo and Heartbeat check the
	// instance's spot request when the last answer is older, so a doomed
	// instance is refused within 5 s of its notice, queue or not.
	DefaultSpotCheckMaxAge = 3 * time.Second
)

// tableField decodes one key of a nested table.
type tableField[T any] struct {
	key    string
	decode func(t *T, raw json.RawMessage) error
}

var fallbackFields = []tableField[OnDemandFallback]{
	{"after", func(f *OnDemandFallback, r json.RawMessage) error { return decodeValue(r, &f.After) }},
	{"hold", func(f *OnDemandFallback, r json.RawMessage) error { return decodeValue(r, &f.Hold) }},
}

var fleetFields = []tableField[Fleet]{
	{"instance_types", func(f *Fleet, r json.RawMessage) error { return decodeStrings(r, &f.InstanceTypes) }},
	{"on_demand_base_capacity", func(f *Fleet, r json.RawMessage) error { return decodeValue(r, &f.OnDemandBaseCapacity) }},
	{"on_demand_percentage_above_base_capacity", func(f *Fleet, r json.RawMessage) error {
		return decodeValue(r, &f.OnDemandPercentageAboveBaseCapacity)
	}},
	{"spot_allocation_strategy", func(f *Fleet, r json.RawMessage) error { return decodeValue(r, &f.SpotAllocationStrategy) }},
	{"capacity_rebalance", func(f *Fleet, r json.RawMessage) error { return decodeValue(r, &f.CapacityRebalance) }},
}

// decodeTable decodes a nested table key by key, appending each problem
// (named "<table>.<key>") to errs. null = absent.
func decodeTable[T any](table string, raw json.RawMessage, fields []tableField[T], errs *[]error) (*T, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("want a table, got %s", jsonKind(raw))
	}
	t := new(T)
	known := make([]string, len(fields))
	for n, f := range fields {
		known[n] = f.key
	}
	for _, key := range sortedKeys(obj) {
		f, ok := lookupField(fields, key, func(f tableField[T]) string { return f.key })
		if !ok {
			*errs = append(*errs, unknownKey(table+".", key, known))
			continue
		}
		if err := f.decode(t, obj[key]); err != nil {
			*errs = append(*errs, fmt.Errorf("%s %q: %w", msgInvalid, table+"."+f.key, err))
		}
	}
	return t, nil
}

func decodeStrings(raw json.RawMessage, into *[]string) error {
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("want a list of strings, got %s", jsonKind(raw))
	}
	return nil
}

func (c *Config) applySpotDefaults() {
	if c.Rebalance == "" {
		c.Rebalance = DefaultRebalance
	}
	if c.LaunchMode == "" {
		c.LaunchMode = DefaultLaunchMode
	}
	if c.PollInterval.Duration == 0 {
		c.PollInterval.Duration = DefaultPollInterval
	}
	if c.SpotCheckMaxAge.Duration == 0 {
		c.SpotCheckMaxAge.Duration = DefaultSpotCheckMaxAge
	}
	if f := c.OnDemandFallback; f != nil {
		if f.After.Duration == 0 {
			f.After.Duration = DefaultFallbackAfter
		}
		if f.Hold.Duration == 0 {
			f.Hold.Duration = DefaultFallbackHold
		}
	}
	if f := c.Fleet; f != nil && f.SpotAllocationStrategy == "" {
		f.SpotAllocationStrategy = DefaultSpotAllocationStrategy
	}
}

var (
	instanceTypeRE = regexp.MustCompile(`^[a-z0-9-]+\.[a-z0-9-]+$`)
	sqsHostRE      = regexp.MustCompile(`^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)
)

// validateSpot reports the problems of the spot keys, in key order.
func (c *Config) validateSpot() []error {
	var errs []error
	invalid := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %q: "+format, append([]any{msgInvalid, key}, args...)...))
	}
	if f := c.Fleet; f != nil {
		if f.InstanceTypes != nil && len(f.InstanceTypes) == 0 {
			invalid("fleet.instance_types", "empty list (leave the key out to keep the group's instance types)")
		}
		if len(f.InstanceTypes) > 40 {
			invalid("fleet.instance_types", "%d types (Auto Scaling allows at most 40)", len(f.InstanceTypes))
		}
		seen := map[string]bool{}
		for _, t := range f.InstanceTypes {
			switch {
			case !instanceTypeRE.MatchString(t):
				invalid("fleet.instance_types", "%q (want an instance type such as m5.large)", t)
			case seen[t]:
				invalid("fleet.instance_types", "%q listed twice", t)
			}
			seen[t] = true
		}
		if v := f.OnDemandBaseCapacity; v != nil && *v < 0 {
			invalid("fleet.on_demand_base_capacity", "%d (want 0 or more)", *v)
		}
		if v := f.OnDemandPercentageAboveBaseCapacity; v != nil && (*v < 0 || *v > 100) {
			invalid("fleet.on_demand_percentage_above_base_capacity", "%d (want 0 to 100)", *v)
		}
		switch f.SpotAllocationStrategy {
		case "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price":
		default:
			invalid("fleet.spot_allocation_strategy", "%q (want price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized or lowest-price)", f.SpotAllocationStrategy)
		}
	}
	switch c.LaunchMode {
	case LaunchModeAsynchronous, LaunchModeSynchronous:
	default:
		invalid("launch_mode", "%q (want asynchronous or synchronous)", c.LaunchMode)
	}
	if u := c.InterruptionQueueURL; u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || len(p.Path) < 2 {
			invalid("interruption_queue_url", "%q (want the queue URL, e.g. https://sqs.eu-central-1.amazonaws.com/123456789012/runner-interruptions)", u)
		} else if m := sqsHostRE.FindStringSubmatch(p.Host); m != nil && c.Region != "" && m[1] != c.Region {
			// The SQS client talks to the plugin's region.
			invalid("interruption_queue_url", "the queue is in %s, the plugin in region %s (EventBridge delivers a region's events to a queue in that region)", m[1], c.Region)
		}
	}
	if f := c.OnDemandFallback; f != nil {
		for _, d := range []struct {
			key string
			v   time.Duration
		}{{"on_demand_fallback.after", f.After.Duration}, {"on_demand_fallback.hold", f.Hold.Duration}} {
			if d.v < time.Second || d.v > 24*time.Hour {
				invalid(d.key, "%s (want between 1s and 24h)", d.v)
			}
		}
	}
	if d := c.PollInterval.Duration; d < 100*time.Millisecond || d > 10*time.Minute {
		invalid("poll_interval", "%s (want between 100ms and 10m)", d)
	}
	switch c.Rebalance {
	case string(ec2spot.RebalanceDrain), string(ec2spot.RebalanceIgnore):
	default:
		invalid("rebalance", "%q (want drain or ignore)", c.Rebalance)
	}
	if d := c.SpotCheckMaxAge.Duration; d < 100*time.Millisecond || d > time.Minute {
		invalid("spot_check_max_age", "%s (want between 100ms and 1m; AWS gives two minutes' notice)", d)
	}
	return errs
}

// spotOptions maps the spot keys onto ec2spot.
func (c *Config) spotOptions() ec2spot.SpotOptions {
	o := ec2spot.SpotOptions{
		QueueURL:     c.InterruptionQueueURL,
		Rebalance:    ec2spot.RebalancePolicy(c.Rebalance),
		PollInterval: c.PollInterval.Duration,
		CheckMaxAge:  c.SpotCheckMaxAge.Duration,
	}
	if f := c.OnDemandFallback; f != nil {
		o.Fallback = &ec2spot.FallbackOptions{After: f.After.Duration, Hold: f.Hold.Duration}
	}
	if f := c.Fleet; f != nil {
		o.Fleet = &ec2spot.FleetSpec{
			InstanceTypes:                       f.InstanceTypes,
			OnDemandBaseCapacity:                f.OnDemandBaseCapacity,
			OnDemandPercentageAboveBaseCapacity: f.OnDemandPercentageAboveBaseCapacity,
			SpotAllocationStrategy:              f.SpotAllocationStrategy,
			CapacityRebalance:                   f.CapacityRebalance,
		}
	}
	return o
}
