package provider

import (
	"context"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/metrics"
)

// Prometheus metrics (plugin_config metrics_listen): one registry per
// instance group, fed by ec2spot's Observer and by each Update's report,
// served by one listener opened at the end of Init and closed in Shutdown.

// newMetrics returns the group's metrics, nil when metrics_listen is unset.
func newMetrics(cfg Config) *metrics.Metrics {
	if cfg.MetricsListen == "" {
		return nil
	}
	return metrics.New(nil)
}

// observer is the metrics as an ec2spot.Observer: a nil interface (not a
// nil pointer) without metrics, so ec2spot adds no hooks at all.
func (g *InstanceGroup) observer() ec2spot.Observer {
	if g.metrics == nil {
		return nil
	}
	return g.metrics
}

// serveMetrics opens the metrics listener (closing one a previous Init
// left open).
func (g *InstanceGroup) serveMetrics(ctx context.Context, cfg Config) error {
	g.closeServer(ctx)
	if g.metrics == nil {
		return nil
	}
	srv, err := metrics.Listen(ctx, cfg.MetricsListen, g.metrics)
	if err != nil {
		return err
	}
	g.served = srv
	g.log.Info("serving Prometheus metrics", "metrics_listen", cfg.MetricsListen, "url", "http://"+srv.Addr()+"/metrics")
	return nil
}

// MetricsAddr is the address metrics are served on ("" when off): the
// real port when metrics_listen asked for port 0.
func (g *InstanceGroup) MetricsAddr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.served.Addr()
}

func (g *InstanceGroup) stopMetrics(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closeServer(ctx)
}

func (g *InstanceGroup) closeServer(ctx context.Context) {
	if g.served == nil {
		return
	}
	if err := g.served.Shutdown(ctx); err != nil && g.log != nil {
		g.log.Warn("stopping the metrics server failed", "error", err)
	}
	g.served = nil
}

// observeInstance adds one member of an Update's report to seen (nil when
// metrics are off: then it costs nothing).
func observeInstance(seen []metrics.Instance, fleet *ec2spot.Fleet, inst ec2spot.Instance, state provider.State, reported bool) []metrics.Instance {
	if seen == nil {
		return nil
	}
	s := string(state)
	if !reported {
		s = metrics.NotReported
	}
	return append(seen, metrics.Instance{
		ID:               inst.ID,
		State:            s,
		Market:           fleet.Market(inst.ID),
		AvailabilityZone: inst.AvailabilityZone,
		InstanceType:     inst.InstanceType,
		InService:        inst.Phase == ec2spot.PhaseInService,
		InterruptedAt:    fleet.InterruptedAt(inst.ID),
	})
}
