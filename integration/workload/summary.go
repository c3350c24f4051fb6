package workload

import (
	"sort"
	"strings"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Summary is a run's figures, computed from its events (and the API call
// counters) only.
type Summary struct {
	Scenario string
	Mode     Mode
	Jobs     int // submitted
	Done     int
	Failed   map[string]int // failed runs by cause, retried or not
	// Retried: failed runs GitLab queued again (driver.Config.Retry).
	Retried int
	// Waits of the jobs that succeeded, queued → acquired (the slot they
	// ran to completion on), sorted. A failed run is left out: a quick
	// start on an instance about to vanish gave its user nothing, and
	// counting it as a short wait would reward placing jobs there. A job
	// GitLab retried counts its successful run's wait, from its retry's
	// queueing (GitLab's queued duration of the retry job).
	Waits              []time.Duration
	P50, P95, MaxWait  time.Duration
	StartedAfterNotice int
	Interruptions      int
	// InstanceHours by market; Cost in USD with the price table.
	InstanceHours map[string]float64
	Cost          float64
	// CostPerDone is Cost over the jobs that succeeded (0 when none did):
	// the instance-hours a failed job burnt are charged to the good ones.
	CostPerDone float64
	APICalls    int
	CallsPerJob float64
	// ConnectP50/P95: acquired → connected (ConnectInfo plus the SSH
	// session of the connect command).
	ConnectP50, ConnectP95 time.Duration
	End                    time.Duration
	// PluginLatency: real time of the instance group's calls (copied
	// from the run; not an event).
	PluginLatency map[string]Latency
	// HandedUnready counts jobs started on an instance before its status
	// checks passed, when ReadyChecks.
	HandedUnready int
	ReadyChecks   bool
}

// FailedTotal sums Failed.
func (s Summary) FailedTotal() int {
	n := 0
	for _, v := range s.Failed {
		n += v
	}
	return n
}

// FailedForGood counts the jobs that failed with no retry left.
func (s Summary) FailedForGood() int { return s.FailedTotal() - s.Retried }

// Summarize computes the figures of a run.
func Summarize(r *Result, prices Prices) Summary {
	s := Summary{Scenario: r.Scenario, Mode: r.Mode, Jobs: r.Jobs, Failed: map[string]int{},
		InstanceHours: map[string]float64{}, End: r.End, PluginLatency: r.PluginLatency, ReadyChecks: r.ReadyChecks}
	noticed := map[string]time.Duration{}
	waited := map[int]time.Duration{}
	var connects []time.Duration
	for _, e := range r.Events {
		switch e.Kind {
		case Notice:
			if _, ok := noticed[e.Instance]; !ok {
				noticed[e.Instance] = e.T
				s.Interruptions++
			}
		case string(driver.JobQueued):
			if strings.HasPrefix(e.Detail, "retry") {
				s.Retried++
			}
		case string(driver.JobStarted):
			waited[e.Job] = e.Wait
			if at, ok := noticed[e.Instance]; ok && at <= e.T {
				s.StartedAfterNotice++
			}
		case string(driver.JobConnected):
			connects = append(connects, e.Connect)
		case HandedUnready:
			s.HandedUnready++
		case string(driver.JobDone):
			s.Done++
			if w, ok := waited[e.Job]; ok {
				s.Waits = append(s.Waits, w)
			}
		case string(driver.JobFailed):
			s.Failed[e.Cause]++
		case Sampled:
			hours := e.Sample.Interval.Hours()
			for k, n := range e.Sample.Billing {
				typ, market, _ := strings.Cut(k, "/")
				s.InstanceHours[market] += float64(n) * hours
				s.Cost += float64(n) * hours * prices.Price(typ, market)
			}
		}
	}
	sortDurations(s.Waits)
	s.P50, s.P95, s.MaxWait = quantile(s.Waits, 0.50), quantile(s.Waits, 0.95), quantile(s.Waits, 1)
	sortDurations(connects)
	s.ConnectP50, s.ConnectP95 = quantile(connects, 0.5), quantile(connects, 0.95)
	for _, n := range r.Calls {
		s.APICalls += n
	}
	if s.Done > 0 {
		s.CostPerDone = s.Cost / float64(s.Done)
	}
	if s.Jobs > 0 {
		s.CallsPerJob = float64(s.APICalls) / float64(s.Jobs)
	}
	return s
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

// quantile by the nearest-rank method on sorted values; 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
