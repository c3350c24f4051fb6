package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

const decreaseSize = 1000

// BenchmarkDecrease: one Decrease of 1000 instances over gRPC under AWS's
// default token buckets, against terminating them one call after another
// (the official plugin's way) with a bare client and no throttling at all.
func BenchmarkDecrease(b *testing.B) {
	ours, failed, calls, rss := decreaseAll(b)

	seqN := min(*seqTerminates, decreaseSize)
	floor := sequentialTerminate(b, seqN) * decreaseSize / time.Duration(seqN)
	speedup := float64(floor) / float64(ours)
	b.ReportMetric(ms(ours), "ours-ms")
	b.ReportMetric(ms(floor), "sequential-ms")
	b.ReportMetric(speedup, "speedup")
	b.ReportMetric(float64(failed), "not-removed")
	floorText := fmt.Sprintf("%.1f s (sequential terminate)", floor.Seconds())
	if seqN < decreaseSize {
		floorText = fmt.Sprintf("%.1f s (sequential terminate of %d, ×%d)", floor.Seconds(), seqN, decreaseSize/seqN)
	}
	rows.Add(Row{
		Section: SectionDecrease,
		Figure:  fmt.Sprintf("Decrease of %d instances, wall time (AWS-default buckets)", decreaseSize),
		Value:   fmt.Sprintf("%.2f s (%d Auto Scaling calls)", ours.Seconds(), calls),
		Floor:   floorText,
		Ratio:   fmt.Sprintf("%.0f× faster", speedup),
		Goal:    "≥ 10× faster",
		Met:     Met(speedup >= 10),
	})
	rows.Add(Row{
		Section: SectionDecrease,
		Figure:  fmt.Sprintf("Decrease of %d: ids not removed / throttling errors surfaced", decreaseSize),
		Value:   fmt.Sprintf("%d", failed),
		Goal:    "0",
		Met:     Met(failed == 0),
	})
	recordRSS(b, rss)
}

// decreaseAll runs the plugin against a throttled simulator and returns the
// Decrease wall time, the ids it did not remove (an error counts them all)
// the Auto Scaling calls it made (throttled ones included) and the plugin's
// RSS with the 1000 instances loaded.
func decreaseAll(b *testing.B) (d time.Duration, failed, calls int, rss float64) {
	sim, err := startSim(true)
	must(b, err)
	defer sim.Close()
	must(b, createRunning(sim, running("decrease", decreaseSize)))
	pointAt(sim)
	p, err := initPlugin(w.pluginBin, map[string]any{"name": "decrease"})
	must(b, err)
	defer p.runner.Kill()
	ctx := context.Background()
	var ids []string
	must(b, p.group.Update(ctx, func(id string, _ provider.State) { ids = append(ids, id) }))
	rss, err = rssMB(p.pid)
	must(b, err)

	sim.ResetCalls()
	start := time.Now()
	removed, err := p.group.Decrease(ctx, ids)
	d = time.Since(start)
	calls = countCalls(sim.Calls(), "autoscaling:")
	if err != nil {
		b.Logf("Decrease failed: %v", err)
		return d, len(ids), calls, rss
	}
	for _, id := range ids {
		if !slices.Contains(removed, id) {
			failed++
		}
	}
	return d, failed, calls, rss
}

// sequentialTerminate terminates n instances one call after another with a
// bare SDK client on an unthrottled simulator.
func sequentialTerminate(b *testing.B, n int) time.Duration {
	sim, err := startSim(false)
	must(b, err)
	defer sim.Close()
	must(b, createRunning(sim, running("sequential", n)))
	asg := autoscaling.NewFromConfig(bareConfig(sim))
	ctx := context.Background()
	start := time.Now()
	for _, id := range inService(sim, "sequential") {
		_, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true),
		})
		must(b, err)
	}
	return time.Since(start)
}
