package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

const (
	scaleUpTo = 100
	// updateInterval is fleeting's default poll interval while it expects
	// state changes: the runner polls this often during a scale-up.
	updateInterval = fleeting.DefaultUpdateIntervalWhenExpecting
)

// BenchmarkScaleUp: 0 → 100 running through the real provisioner, ours
// beyond the simulated boot against fleeting's dummy plugin (which boots
// nothing) doing the same.
func BenchmarkScaleUp(b *testing.B) {
	must(b, w.sim.CreateGroup(awssim.GroupSpec{Name: "scale", MaxSize: scaleUpTo}))
	pointAt(w.sim)
	ours, err := timeScaleUp(w.pluginBin, map[string]any{"name": "scale"})
	must(b, err)
	dummy, err := timeScaleUp(w.dummyBin, map[string]any{"MaxSize": scaleUpTo})
	must(b, err)

	boot := bootDelay / simSpeed
	overhead := ours - boot
	ratio := float64(overhead) / float64(dummy)
	b.ReportMetric(ms(ours), "ours-ms")
	b.ReportMetric(ms(overhead), "overhead-ms")
	b.ReportMetric(ms(dummy), "dummy-ms")
	b.ReportMetric(ratio, "ratio")
	rows.Add(Row{
		Section: SectionScaleUp,
		Figure:  fmt.Sprintf("Scale 0 → %d running, time beyond the boot (%s real)", scaleUpTo, boot),
		Value:   fmt.Sprintf("%.2f s (%.2f s in all)", overhead.Seconds(), ours.Seconds()),
		Floor:   fmt.Sprintf("%.2f s (dummy plugin)", dummy.Seconds()),
		Ratio:   fmt.Sprintf("%.2f×", ratio),
		Goal:    fmt.Sprintf("≤ 1.5× and ≤ %s (one update interval)", updateInterval),
		Met:     Met(ratio <= 1.5 && overhead <= updateInterval),
	})
}

// timeScaleUp starts a plugin under a provisioner with the runner's
// default intervals, requests scaleUpTo instances and times until all run.
func timeScaleUp(bin string, config any) (time.Duration, error) {
	p, err := startPlugin(bin, config)
	if err != nil {
		return 0, err
	}
	defer p.runner.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prov, err := fleeting.Init(ctx, pluginLogger(), p.group,
		fleeting.WithInstanceGroupSettings(connectorSettings()),
		fleeting.WithShutdownDeletionRetries(0))
	if err != nil {
		return 0, err
	}
	defer prov.Shutdown(ctx)

	start := time.Now()
	prov.Request(scaleUpTo)
	err = waitFor(time.Minute, fmt.Sprintf("%d running instances", scaleUpTo), func() bool {
		running := 0
		for _, inst := range prov.Instances() {
			if inst.State() == provider.StateRunning {
				running++
			}
		}
		return running == scaleUpTo
	})
	return time.Since(start), err
}
