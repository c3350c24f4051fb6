package provider

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// How the spot signals reach the runner: an instance AWS is taking is
// reported deleting (fleeting then never hands it out or removes it; AWS
// does), and Heartbeat and ConnectInfo fail for it, so no new job lands on
// it. A rebalance recommendation under the drain policy only fails
// Heartbeat: AWS has not decided to take the instance, and the runner
// removes it when idle.

// spotFeatures returns the spot features, nil before a successful Init.
func (g *InstanceGroup) spotFeatures() *ec2spot.Spot {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spot
}

// spotState overrides the lifecycle mapping for an instance AWS announced
// it takes: deleting instead of creating or running.
func spotState(spot *ec2spot.Spot, id string, state provider.State) provider.State {
	if spot == nil || (state != provider.StateRunning && state != provider.StateCreating) {
		return state
	}
	return verdictState(spot.Verdict(id), state)
}

// spotUnhealthy is the Heartbeat error for an instance with a signal
// against it, nil otherwise.
func spotUnhealthy(spot *ec2spot.Spot, id string) error {
	if spot == nil {
		return nil
	}
	if v := spot.Verdict(id); v.Unhealthy {
		return fmt.Errorf("%w: %s: %s", provider.ErrInstanceUnhealthy, id, v.Reason)
	}
	return nil
}

// spotHold reports whether Increase should hold back (launches keep failing
// for lack of capacity), logging why.
func spotHold(spot *ec2spot.Spot, log hclog.Logger, n int) bool {
	if spot == nil {
		return false
	}
	hold, lf, fresh := spot.IncreaseHold()
	if hold <= 0 {
		return false
	}
	kv := []any{"asked", n, "retry_in", hold.Round(time.Second).String()}
	if lf != nil {
		kv = append(kv, "reason", string(lf.Class), "cause", lf.Cause)
	}
	const msg = "holding back new instance requests: the group's last launches failed for lack of capacity"
	if fresh {
		log.Info(msg, kv...)
	} else {
		log.Debug(msg, kv...)
	}
	return true
}

// spotSummary describes the spot handling in force, for the Init log.
func spotSummary(c Config) []any {
	kv := []any{"interruption_polling", "spot requests, at most every " + c.PollInterval.String(),
		"spot_check_max_age", c.SpotCheckMaxAge.String(), "rebalance", c.Rebalance, "launch_mode", c.LaunchMode}
	if c.InterruptionQueueURL != "" {
		kv = append(kv, "interruption_queue_url", c.InterruptionQueueURL)
	}
	if f := c.OnDemandFallback; f != nil {
		kv = append(kv, "on_demand_fallback_after", f.After.String(), "on_demand_fallback_hold", f.Hold.String())
	} else {
		kv = append(kv, "on_demand_fallback", "off")
	}
	return kv
}
