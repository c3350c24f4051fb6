package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/officiallike"
)

const (
	workloadJobs     = 20
	jobsPerInstance  = 2
	jobDuration      = 500 * time.Millisecond
	workloadMaxGroup = workloadJobs
)

// BenchmarkWorkload: the AWS calls per job of one workload run through the
// real provisioner: 20 jobs, two after each other on each of 10
// instances, each job connecting once; then the instances are removed.
// Ours over gRPC; the official-like plugin in process, same workload.
func BenchmarkWorkload(b *testing.B) {
	type result struct {
		perJob float64
		calls  map[string]int
	}
	results := map[string]result{}
	for _, impl := range []string{"ours", "official-like"} {
		sim, err := startSim(false)
		must(b, err)
		must(b, sim.CreateGroup(awssim.GroupSpec{Name: "work", MaxSize: workloadMaxGroup}))
		var group provider.InstanceGroup
		stop := func() {}
		switch impl {
		case "ours":
			pointAt(sim)
			p, err := startPlugin(w.pluginBin, map[string]any{"name": "work"})
			must(b, err)
			stop = p.runner.Kill
			group = p.group
		default:
			group = &officiallike.Group{Name: "work", KeyBits: 2048, Config: bareConfig(sim)}
		}
		calls, err := runWorkload(sim, group)
		stop()
		sim.Close()
		must(b, err)
		total := 0
		for _, v := range calls {
			total += v
		}
		results[impl] = result{perJob: float64(total) / workloadJobs, calls: calls}
		b.ReportMetric(float64(total)/workloadJobs, impl+"-calls/job")
	}
	ours, official := results["ours"], results["official-like"]
	rows.Add(Row{
		Section: SectionWorkload,
		Figure:  fmt.Sprintf("AWS calls per job (%d jobs on %d instances)", workloadJobs, workloadJobs/jobsPerInstance),
		Value:   fmt.Sprintf("%.2f: %s", ours.perJob, breakdown(ours.calls)),
		Floor:   fmt.Sprintf("%.2f official-like: %s", official.perJob, breakdown(official.calls)),
		Ratio:   fmt.Sprintf("%.2f×", ours.perJob/official.perJob),
	})
}

// runWorkload runs the jobs under a provisioner with the runner's default
// intervals and returns the simulator's call counters of the whole run.
func runWorkload(sim *awssim.Sim, group provider.InstanceGroup) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sim.ResetCalls()
	prov, err := fleeting.Init(ctx, pluginLogger(), group,
		fleeting.WithInstanceGroupSettings(connectorSettings()),
		fleeting.WithShutdownDeletionRetries(0))
	if err != nil {
		return nil, err
	}
	defer prov.Shutdown(ctx)

	instances := workloadJobs / jobsPerInstance
	prov.Request(instances)
	var running []fleeting.Instance
	err = waitFor(time.Minute, "workload instances running", func() bool {
		running = running[:0]
		for _, inst := range prov.Instances() {
			if inst.State() == provider.StateRunning {
				running = append(running, inst)
			}
		}
		return len(running) == instances
	})
	if err != nil {
		return nil, err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, inst := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobsPerInstance {
				if _, err := inst.ConnectInfo(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				time.Sleep(jobDuration)
			}
			inst.Delete()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d connects failed, first: %w", len(errs), errs[0])
	}
	err = waitFor(time.Minute, "workload instances removed", func() bool {
		g, _ := sim.Group("work")
		return len(prov.Instances()) == 0 && g.Desired == 0
	})
	return sim.Calls(), err
}

// breakdown lists the calls by action, most first.
func breakdown(calls map[string]int) string {
	keys := make([]string, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if calls[keys[i]] != calls[keys[j]] {
			return calls[keys[i]] > calls[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for n, k := range keys {
		parts[n] = fmt.Sprintf("%s %d", k[strings.Index(k, ":")+1:], calls[k])
	}
	return strings.Join(parts, ", ")
}
