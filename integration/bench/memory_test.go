package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	ec2spotprovider "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// recordRSS records the plugin's RSS at 1000 instances (the larger of the
// Update benchmark's process and the Decrease benchmark's) beside fleeting's
// dummy plugin holding 1000 instances.
func recordRSS(b *testing.B, decreaseRSS float64) {
	_, p := sizedPlugin(b, groupCase{1000, spot})
	rss, err := rssMB(p.pid)
	must(b, err)
	ours := max(decreaseRSS, rss)
	floor, err := dummyRSS(1000)
	must(b, err)
	b.ReportMetric(ours, "rss-MB")
	b.ReportMetric(floor, "dummy-rss-MB")
	rows.Add(Row{
		Section: SectionRSS,
		Figure:  "Plugin RSS at 1000 instances",
		Value:   fmt.Sprintf("%.1f MB", ours),
		Floor:   fmt.Sprintf("%.1f MB (dummy plugin, 1000 instances)", floor),
		Ratio:   fmt.Sprintf("%.2f×", ours/floor),
		Goal:    "≤ 50 MB",
		Met:     Met(ours <= 50),
	})
}

func dummyRSS(n int) (float64, error) {
	p, err := startPlugin(w.dummyBin, map[string]any{"MaxSize": n})
	if err != nil {
		return 0, err
	}
	defer p.runner.Kill()
	ctx := context.Background()
	if _, err := p.group.Init(ctx, pluginLogger(), connectorSettings()); err != nil {
		return 0, err
	}
	if _, err := p.group.Increase(ctx, n); err != nil {
		return 0, err
	}
	for range 2 {
		if err := p.group.Update(ctx, func(string, provider.State) {}); err != nil {
			return 0, err
		}
	}
	return rssMB(p.pid)
}

// On-demand groups isolate the plugin's own allocations (the spot-status
// poll asks nothing once it knows the markets); the spot group adds the
// spot-status call's.
var allocCases = []groupCase{{10, onDemand}, {100, onDemand}, {1000, onDemand}, {1000, spot}}

// allocRounds is how many calls each allocation figure averages.
const allocRounds = 10

// BenchmarkAllocsPerUpdate: provider.InstanceGroup.Update in process (the
// plugin's own allocations, gRPC aside) against one bare
// DescribeAutoScalingGroups of the same group.
func BenchmarkAllocsPerUpdate(b *testing.B) {
	for _, c := range allocCases {
		n := c.N
		b.Run(fmt.Sprintf("instances=%d/%s", n, c.Market), func(b *testing.B) {
			name := sizedGroup(b, c)
			pointAt(w.sim) // this process is the plugin now
			var g ec2spotprovider.InstanceGroup
			raw, _ := json.Marshal(map[string]any{"name": name})
			must(b, g.UnmarshalJSON(raw))
			ctx := context.Background()
			_, err := g.Init(ctx, hclog.NewNullLogger(), connectorSettings())
			must(b, err)
			defer func() { must(b, g.Shutdown(ctx)) }()
			asg := autoscaling.NewFromConfig(bareConfig(w.sim))

			update := func() { must(b, g.Update(ctx, func(string, provider.State) {})) }
			describe := func() {
				_, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
				must(b, err)
			}
			update()
			describe()
			b.ReportAllocs()
			b.ResetTimer()
			oursAllocs, oursBytes := allocsOf(b.N*allocRounds, update)
			b.StopTimer()
			floorAllocs, floorBytes := allocsOf(b.N*allocRounds, describe)

			b.ReportMetric(oursAllocs, "allocs/update")
			b.ReportMetric(oursBytes, "B/update")
			b.ReportMetric(floorAllocs, "floor-allocs/update")
			extra := (oursAllocs - floorAllocs) / float64(n)
			b.ReportMetric(extra, "extra-allocs/instance")
			rows.Add(Row{
				Section: SectionAllocs,
				Figure:  fmt.Sprintf("Allocations per Update, %s (in process)", c),
				Value:   fmt.Sprintf("%.0f allocs, %.0f KB", oursAllocs, oursBytes/1024),
				Floor:   fmt.Sprintf("%.0f allocs, %.0f KB (bare DescribeAutoScalingGroups)", floorAllocs, floorBytes/1024),
				Ratio:   fmt.Sprintf("%.2f× (%+.1f allocs per instance)", oursAllocs/floorAllocs, extra),
			})
		})
	}
}

// allocsOf averages the heap allocations of k calls of fn.
func allocsOf(k int, fn func()) (allocs, bytes float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range k {
		fn()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(k), float64(after.TotalAlloc-before.TotalAlloc) / float64(k)
}
