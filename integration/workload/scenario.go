package workload

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Scenario is a workload plus what AWS does meanwhile, and the runner's
// autoscaler settings. Durations are simulated time.
type Scenario struct {
	Name, Description string
	Workload          Workload
	Seed              int64
	// Speed is simulated seconds per real second.
	Speed float64
	// Group is the Auto Scaling group (name defaulted).
	Group awssim.GroupSpec
	// Driver is the runner's autoscaler configuration (clock, connector
	// and events are filled in by Run).
	Driver driver.Config
	// BootDelay, NoticePeriod: the simulator's (0 = its defaults 30s, 2m).
	BootDelay, NoticePeriod time.Duration
	// StatusCheckDelay: EC2 running → status checks pass; set, it also
	// records jobs handed an instance before then (0 = the simulator's
	// default, not recorded).
	StatusCheckDelay time.Duration

	Interruptions *Interruptions
	Outage        *Outage
	Throttle      *Throttle

	// PluginConfig adds keys to ours' plugin_config (name and region are
	// set). Fallback sets on_demand_fallback in simulated time: the plugin
	// runs on the real clock, so Run divides by Speed (floor 1 s).
	PluginConfig map[string]any
	Fallback     *Fallback

	// Drain bounds the wait for the last jobs after the workload window,
	// and then for the group to reach zero (default 15m each).
	Drain time.Duration
}

// Interruptions sends spot interruption notices at PerSpotHour per spot
// instance-hour (checked each simulated minute), between From and To
// (To 0 = until the end).
type Interruptions struct {
	PerSpotHour float64
	From, To    time.Duration
}

// Fallback is ours' on_demand_fallback, in simulated time.
type Fallback struct{ After, Hold time.Duration }

// Outage takes all spot capacity of the group's instance types away from
// From to To.
type Outage struct{ From, To time.Duration }

// Throttle sets token buckets on the APIs, in calls per simulated second
// (scaled to real time with Speed): Auto Scaling shared, EC2 and Instance
// Connect each.
type Throttle struct {
	AutoScalingRate, EC2Rate, InstanceConnectRate float64
	Burst                                         int
}

//go:embed testdata/trace.csv
var sampleTrace []byte

// defaultDriver is a typical docker-autoscaler runner for the scenarios.
func defaultDriver() driver.Config {
	return driver.Config{
		CapacityPerInstance: 1,
		MaxUseCount:         10,
		MaxInstances:        16,
		// Spot users retry jobs lost to an interruption, GitLab's
		// `retry: {max: 2, when: runner_system_failure}`.
		Retry:    2,
		Policies: []driver.Policy{{IdleCount: 2, IdleTime: 4 * time.Minute}},
	}
}

func defaultGroup() awssim.GroupSpec {
	return awssim.GroupSpec{
		Name:          "ci-spot-runners",
		MaxSize:       20,
		InstanceTypes: []string{"t3.micro", "t3a.micro", "m5.large"},
		OnDemandBase:  1,
	}
}

var peak = Bursty{
	BasePerMinute: 1, PeakPerMinute: 5,
	PeakStart: 4 * time.Minute, PeakEnd: 10 * time.Minute, Ramp: 2 * time.Minute,
	MeanDuration: 4 * time.Minute, Window: 16 * time.Minute,
}

// Scenarios are the named scenarios of `make demo SCENARIO=name`.
func Scenarios() map[string]Scenario {
	base := func(name, desc string) Scenario {
		return Scenario{
			Name: name, Description: desc, Workload: peak, Seed: 1, Speed: 20,
			Group: defaultGroup(), Driver: defaultDriver(), BootDelay: 60 * time.Second,
		}
	}
	list := []Scenario{} //nolint:prealloc // a capacity would have to track the scenario count below by hand

	s := base("default", "morning peak with spot interruptions (1 per spot instance-hour)")
	s.Interruptions = &Interruptions{PerSpotHour: 1}
	list = append(list, s)

	s = base("steady", "steady load, nothing goes wrong")
	s.Workload = Steady{PerMinute: 2, MeanDuration: 4 * time.Minute, Window: 16 * time.Minute}
	list = append(list, s)

	s = base("interruptions", "steady load with frequent spot interruptions (4 per spot instance-hour)")
	s.Workload = Steady{PerMinute: 2, MeanDuration: 4 * time.Minute, Window: 16 * time.Minute}
	s.Interruptions = &Interruptions{PerSpotHour: 4}
	list = append(list, s)

	s = base("outage", "morning peak; no spot capacity from 3m to 11m (ours with on_demand_fallback after 2m)")
	s.Outage = &Outage{From: 3 * time.Minute, To: 11 * time.Minute}
	s.Fallback = &Fallback{After: 2 * time.Minute, Hold: 10 * time.Minute}
	list = append(list, s)

	s = base("throttling", "morning peak under tight API rate limits")
	s.Speed = 10 // SDK retry back-offs are real time: keep them short in simulated time
	s.Throttle = &Throttle{AutoScalingRate: 0.5, EC2Rate: 1, InstanceConnectRate: 1, Burst: 3}
	list = append(list, s)

	s = base("slow-boots", "morning peak with 4-minute boots whose status checks pass 90 s after running; ours waits for them (ready_when = status-ok), official-like takes InService")
	s.BootDelay = 4 * time.Minute
	s.StatusCheckDelay = 90 * time.Second
	s.PluginConfig = map[string]any{"ready_when": "status-ok"}
	list = append(list, s)

	s = base("trace", "a recorded trace (testdata/trace.csv, or -trace FILE)")
	tr, err := ReadTrace("testdata/trace.csv", bytes.NewReader(sampleTrace))
	if err != nil {
		panic(err) // embedded: a test keeps it valid
	}
	s.Workload = tr
	list = append(list, s)

	out := map[string]Scenario{}
	for _, s := range list {
		out[s.Name] = s
	}
	return out
}

// Names lists the scenarios, sorted.
func Names() []string {
	all := Scenarios()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, error) {
	s, ok := Scenarios()[name]
	if !ok {
		return s, fmt.Errorf("unknown scenario %q (have %v)", name, Names())
	}
	return s, nil
}
