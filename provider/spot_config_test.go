package provider

import (
	"strings"
	"testing"
	"time"
)

func TestSpotConfigKeys(t *testing.T) {
	c, msg := configProblems(t, `{"name":"runners","interruption_queue_url":"https://sqs.eu-central-1.amazonaws.com/123456789012/interruptions",
		"rebalance":"ignore","on_demand_fallback":{"after":"90s"},
		"fleet":{"instance_types":["m5.large","c5.large"],"on_demand_base_capacity":1,"on_demand_percentage_above_base_capacity":20,"capacity_rebalance":false}}`)
	if msg != "" {
		t.Fatalf("unexpected problems: %s", msg)
	}
	if c.LaunchMode != DefaultLaunchMode || c.Rebalance != "ignore" || c.OnDemandFallback.After.Duration != 90*time.Second || c.OnDemandFallback.Hold.Duration != DefaultFallbackHold {
		t.Errorf("rebalance/fallback: %+v %+v", c.Rebalance, c.OnDemandFallback)
	}
	f := c.Fleet
	if strings.Join(f.InstanceTypes, ",") != "m5.large,c5.large" || *f.OnDemandBaseCapacity != 1 || *f.OnDemandPercentageAboveBaseCapacity != 20 ||
		f.SpotAllocationStrategy != DefaultSpotAllocationStrategy || *f.CapacityRebalance {
		t.Errorf("fleet: %+v", f)
	}
	o := c.spotOptions()
	if o.QueueURL == "" || o.Fallback == nil || o.Fleet == nil || o.Fleet.SpotAllocationStrategy != DefaultSpotAllocationStrategy {
		t.Errorf("spot options: %+v", o)
	}

	c, msg = configProblems(t, `{"name":"runners"}`)
	if msg != "" || c.Rebalance != DefaultRebalance || c.OnDemandFallback != nil || c.Fleet != nil {
		t.Errorf("defaults without spot keys: %+v, %q", c, msg)
	}
}

func TestSpotConfigProblems(t *testing.T) {
	_, msg := configProblems(t, `{"name":"runners","interruption_queue_url":"sqs://nope","rebalance":"replace","launch_mode":"sideways",
		"on_demand_fallback":{"after":"0.5s","hold":5,"aftr":"1m"},
		"fleet":{"instance_types":["m5.large","m5.large","bogus"],"on_demand_base_capacity":-1,
			"on_demand_percentage_above_base_capacity":101,"spot_allocation_strategy":"cheapest","capacity_rebalance":"no"}}`)
	for _, want := range []string{
		`unknown plugin config key "on_demand_fallback.aftr" (did you mean "on_demand_fallback.after"?)`,
		`invalid plugin config value for "fleet.capacity_rebalance": want true or false, got string "no"`,
		`invalid plugin config value for "fleet.instance_types": "m5.large" listed twice`,
		`invalid plugin config value for "fleet.instance_types": "bogus" (want an instance type such as m5.large)`,
		`invalid plugin config value for "fleet.on_demand_base_capacity": -1 (want 0 or more)`,
		`invalid plugin config value for "fleet.on_demand_percentage_above_base_capacity": 101 (want 0 to 100)`,
		`invalid plugin config value for "fleet.spot_allocation_strategy": "cheapest"`,
		`invalid plugin config value for "interruption_queue_url": "sqs://nope"`,
		`invalid plugin config value for "launch_mode": "sideways" (want asynchronous or synchronous)`,
		`invalid plugin config value for "on_demand_fallback.after": 500ms (want between 1s and 24h)`,
		`invalid plugin config value for "on_demand_fallback.hold": 5ns (want between 1s and 24h)`,
		`invalid plugin config value for "rebalance": "replace" (want drain or ignore)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %s\ngot:\n%s", want, msg)
		}
	}
	_, msg = configProblems(t, `{"name":"runners","region":"eu-west-1","interruption_queue_url":"https://sqs.eu-central-1.amazonaws.com/123456789012/q"}`)
	if !strings.Contains(msg, `"interruption_queue_url": the queue is in eu-central-1, the plugin in region eu-west-1`) {
		t.Errorf("region mismatch not reported: %s", msg)
	}
	_, msg = configProblems(t, `{"name":"runners","fleet":"m5.large","on_demand_fallback":true}`)
	for _, want := range []string{`invalid plugin config value for "fleet": want a table, got string "m5.large"`,
		`invalid plugin config value for "on_demand_fallback": want a table, got boolean true`} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %s\ngot:\n%s", want, msg)
		}
	}
}
