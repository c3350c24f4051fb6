package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// groupCase is a group of N running instances of one market.
type groupCase struct {
	N      int
	Market string // spot or on-demand
}

func (c groupCase) String() string { return fmt.Sprintf("%d %s instances", c.N, c.Market) }

// Spot groups are what the plugin is for; the on-demand group shows the
// plugin's own cost once the spot-status poll has nothing to ask about.
var updateCases = []groupCase{{10, spot}, {100, spot}, {1000, spot}, {1000, onDemand}}

const (
	spot     = "spot"
	onDemand = "on-demand"
)

// BenchmarkUpdate: Update over gRPC against one bare DescribeAutoScalingGroups
// of the same group, alternating, and the AWS calls each Update makes.
func BenchmarkUpdate(b *testing.B) {
	for _, c := range updateCases {
		n := c.N
		b.Run(fmt.Sprintf("instances=%d/%s", n, c.Market), func(b *testing.B) {
			name, p := sizedPlugin(b, c)
			asg := autoscaling.NewFromConfig(bareConfig(w.sim))
			ctx := context.Background()
			update := func() (int, error) {
				seen := 0
				err := p.group.Update(ctx, func(string, provider.State) { seen++ })
				return seen, err
			}
			describe := func() error {
				_, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
				return err
			}
			// Warm both up: connections, and what the plugin learns once.
			for range 2 {
				_, err := update()
				must(b, err)
				must(b, describe())
			}

			k := b.N * *samples
			ours := make([]time.Duration, 0, k)
			floor := make([]time.Duration, 0, k)
			w.sim.ResetCalls()
			b.ResetTimer()
			for range k {
				start := time.Now()
				seen, err := update()
				ours = append(ours, time.Since(start))
				must(b, err)
				if seen != n {
					b.Fatalf("Update reported %d instances, want %d", seen, n)
				}
				start = time.Now()
				must(b, describe())
				floor = append(floor, time.Since(start))
			}
			b.StopTimer()
			calls := w.sim.Calls()

			asgCalls := float64(countCalls(calls, "autoscaling:")-k) / float64(k)
			describeInstances := float64(calls["ec2:DescribeInstances"]) / float64(k)
			spotStatus := float64(calls["ec2:DescribeSpotInstanceRequests"]) / float64(k)
			otherEC2 := float64(countCalls(calls, "ec2:"))/float64(k) - describeInstances - spotStatus
			for _, q := range []struct {
				name string
				p    float64
			}{{"p50", 50}, {"p99", 99}} {
				o, f := percentile(ours, q.p), percentile(floor, q.p)
				ratio := ms(o) / ms(f)
				b.ReportMetric(ms(o), q.name+"-ms")
				b.ReportMetric(ms(f), "floor-"+q.name+"-ms")
				b.ReportMetric(ratio, q.name+"-ratio")
				rows.Add(Row{
					Section: SectionUpdate,
					Figure:  fmt.Sprintf("Update latency %s, %s", q.name, c),
					Value:   fmt.Sprintf("%.1f ms", ms(o)),
					Floor:   fmt.Sprintf("%.1f ms (bare DescribeAutoScalingGroups)", ms(f)),
					Ratio:   fmt.Sprintf("%.2f×", ratio),
					Goal:    "≤ 1.2×",
					Met:     Met(ratio <= 1.2),
				})
			}
			b.ReportMetric(asgCalls, "asg-calls/op")
			b.ReportMetric(spotStatus, "spot-status-calls/op")
			b.ReportMetric(describeInstances, "describe-instances/op")
			value := fmt.Sprintf("%g Auto Scaling + %g spot-status + %g DescribeInstances", asgCalls, spotStatus, describeInstances)
			if otherEC2 > 0 {
				value += fmt.Sprintf(" + %g other EC2", otherEC2)
			}
			rows.Add(Row{
				Section: SectionUpdate,
				Figure:  "AWS calls per Update, " + c.String(),
				Value:   value,
				Floor:   floorCalls(c),
				Goal:    "1 + 1 batched spot-status, 0 DescribeInstances",
				Met:     Met(asgCalls == 1 && spotStatus <= 1 && describeInstances == 0 && otherEC2 == 0),
			})
		})
	}
}

// floorCalls are the calls an Update cannot avoid.
func floorCalls(c groupCase) string {
	if c.Market == spot {
		return "1 + 1 spot-status"
	}
	return "1"
}

// sizedPlugin is the plugin process over the group of c, created on first
// use and kept for the figures that need a loaded plugin.
func sizedPlugin(b *testing.B, c groupCase) (string, *plugin) {
	name := sizedGroup(b, c)
	if p := w.plugins[c]; p != nil {
		return name, p
	}
	pointAt(w.sim)
	// The benchmark calls Update back to back, far faster than fleeting's
	// 2 s loop; a budget above that rate measures what one Update costs
	// instead of the plugin's own pacing (5/s by default).
	p, err := initPlugin(w.pluginBin, map[string]any{"name": name, "api_rate_limits": map[string]any{"autoscaling": 100}})
	must(b, err)
	w.plugins[c] = p
	return name, p
}

// sizedGroup is the group of c in the shared simulator, created on first use.
func sizedGroup(b *testing.B, c groupCase) string {
	name := fmt.Sprintf("update-%d-%s", c.N, c.Market)
	if _, ok := w.sim.Group(name); !ok {
		spec := awssim.GroupSpec{Name: name, Desired: c.N, MaxSize: c.N}
		if c.Market == onDemand {
			spec.OnDemandPercentageAboveBase = 100
		}
		must(b, createRunning(w.sim, spec))
	}
	return name
}
