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

// spotState overrides the lifecycle mapping for an instance AWS announced
// it takes: deleting instead of creating or running.
func spotState(fleet *ec2spot.Fleet, id string, state provider.State) provider.State {
	if state != provider.StateRunning && state != provider.StateCreating {
		return state
	}
	return verdictState(fleet.Verdict(id), state)
}

// logHold logs why Increase held back (launches keep failing for lack of
// capacity).
func logHold(log hclog.Logger, h *ec2spot.IncreaseHold, n int) {
	kv := []any{"asked", n, "retry_in", h.RetryIn.Round(time.Second).String()}
	if lf := h.Cause; lf != nil {
		kv = append(kv, "reason", string(lf.Class), "cause", lf.Cause)
	}
	const msg = "holding back new instance requests: the group's last launches failed for lack of capacity"
	if h.Fresh {
		log.Info(msg, kv...)
	} else {
		log.Debug(msg, kv...)
	}
}

// unhealthy is the Heartbeat error for a reason from Fleet.Unhealthy.
func unhealthy(reason string) error {
	if reason == "" {
		return nil
	}
	return fmt.Errorf("%w: %s", provider.ErrInstanceUnhealthy, reason)
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
