package workload

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// timedGroup measures the real time of every instance-group call: on a
// fast simulated clock a plugin's real latency is stretched by the speed
// (and stalls fleeting's provisioner loop), so the report shows it.
type timedGroup struct {
	provider.InstanceGroup
	mu    sync.Mutex
	times map[string][]time.Duration
}

func (g *timedGroup) since(method string, began time.Time) {
	d := time.Since(began)
	g.mu.Lock()
	if g.times == nil {
		g.times = map[string][]time.Duration{}
	}
	g.times[method] = append(g.times[method], d)
	g.mu.Unlock()
}

func (g *timedGroup) Init(ctx context.Context, log hclog.Logger, s provider.Settings) (provider.ProviderInfo, error) {
	defer g.since("Init", time.Now())
	return g.InstanceGroup.Init(ctx, log, s)
}

func (g *timedGroup) Update(ctx context.Context, fn func(string, provider.State)) error {
	defer g.since("Update", time.Now())
	return g.InstanceGroup.Update(ctx, fn)
}

func (g *timedGroup) Increase(ctx context.Context, n int) (int, error) {
	defer g.since("Increase", time.Now())
	return g.InstanceGroup.Increase(ctx, n)
}

func (g *timedGroup) Decrease(ctx context.Context, ids []string) ([]string, error) {
	defer g.since("Decrease", time.Now())
	return g.InstanceGroup.Decrease(ctx, ids)
}

func (g *timedGroup) ConnectInfo(ctx context.Context, id string) (provider.ConnectInfo, error) {
	defer g.since("ConnectInfo", time.Now())
	return g.InstanceGroup.ConnectInfo(ctx, id)
}

func (g *timedGroup) Heartbeat(ctx context.Context, id string) error {
	defer g.since("Heartbeat", time.Now())
	return g.InstanceGroup.Heartbeat(ctx, id)
}

// Latency is the real-time distribution of one plugin call.
type Latency struct {
	N             int
	P50, P95, Max time.Duration
}

func (g *timedGroup) latencies() map[string]Latency {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]Latency{}
	for m, ds := range g.times {
		ds = append([]time.Duration(nil), ds...)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		out[m] = Latency{N: len(ds), P50: quantile(ds, 0.5), P95: quantile(ds, 0.95), Max: ds[len(ds)-1]}
	}
	return out
}
