package workload_test

import (
	"math"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// The spend breakdown splits each instance's billed time into boot, busy,
// idle and removing, and its cost adds up to the billed time's price: it
// is what explains a cost difference between the modes.
func TestSpendSplitsBilledTimeByPhase(t *testing.T) {
	m := time.Minute
	state := func(at time.Duration, id, s, detail string) workload.Event {
		return workload.Event{T: at, Kind: string(driver.InstanceState), Instance: id, State: s, Detail: detail}
	}
	events := []workload.Event{
		state(1*m, "i-1", "ready", ""),
		{T: 2 * m, Kind: string(driver.JobStarted), Job: 1, Instance: "i-1"},
		{T: 5 * m, Kind: string(driver.JobDone), Job: 1, Instance: "i-1"},
		state(8*m, "i-1", "removing", "idle_time elapsed"),
		{T: 0, Kind: workload.Billed, Instance: "i-1", Market: "spot", Type: "t3.micro", Billed: 10 * m},
		{T: 0, Kind: workload.Billed, Instance: "i-2", Market: "on-demand", Type: "t3.micro", Billed: 3 * m},
	}
	prices := workload.DefaultPrices()
	sp := workload.SpendOf(events, prices)
	want := map[string]time.Duration{
		"boot/spot": 1 * m, "busy/spot": 3 * m, "idle/spot": 4 * m, "removing/spot": 2 * m,
		"boot/on-demand": 3 * m,
	}
	for k, d := range want {
		if sp.Time[k] != d {
			t.Errorf("%s: %s, want %s", k, sp.Time[k], d)
		}
	}
	total := 0.0
	for _, c := range sp.Cost {
		total += c
	}
	wantCost := (10*m).Hours()*prices.Price("t3.micro", "spot") + (3*m).Hours()*prices.Price("t3.micro", "on-demand")
	if math.Abs(total-wantCost) > 1e-12 {
		t.Errorf("cost by phase sums to %v, billed time costs %v", total, wantCost)
	}
	if sp.Unused != 1 || sp.Removed["idle_time elapsed"] != 1 || sp.Removed["aws"] != 1 {
		t.Errorf("unused %d, removed %v; want 1 unused, idle_time elapsed 1, aws 1", sp.Unused, sp.Removed)
	}
}
