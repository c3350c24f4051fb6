package workload_test

import (
	"bytes"
	"context"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// A small official-like run (in process: no plugin build) with
// interruptions; its report must say what its events say.
func TestReportAgreesWithEvents(t *testing.T) {
	sc, err := workload.Lookup("default")
	if err != nil {
		t.Fatal(err)
	}
	sc.Speed = 60
	sc.Workload = workload.Steady{PerMinute: 3, MeanDuration: 2 * time.Minute, Window: 6 * time.Minute}
	sc.Interruptions = &workload.Interruptions{PerSpotHour: 10}
	res, err := workload.Run(context.Background(), sc, workload.OfficialLike, workload.Options{LogDir: t.TempDir(), KeygenCost: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	prices := workload.DefaultPrices()
	sum := workload.Summarize(res, prices)

	// Recount from the raw events, differently.
	var waits []time.Duration
	started, done, failed, retried := map[int]bool{}, 0, map[string]int{}, 0
	noticeAt := map[string]time.Duration{}
	startedOn := map[int]workload.Event{} // a job's last run
	var starts []workload.Event           // every run
	var hours = map[string]float64{}
	cost := 0.0
	for _, e := range res.Events {
		switch e.Kind {
		case string(driver.JobQueued):
			if e.Detail != "" {
				retried++ // "retry n of m"
			}
		case string(driver.JobStarted):
			started[e.Job] = true
			startedOn[e.Job] = e
			starts = append(starts, e)
		case string(driver.JobDone):
			done++
			waits = append(waits, startedOn[e.Job].Wait) // succeeded jobs only, their last run
		case string(driver.JobFailed):
			failed[e.Cause]++
		case workload.Notice:
			if _, ok := noticeAt[e.Instance]; !ok {
				noticeAt[e.Instance] = e.T
			}
		case workload.Sampled:
			for k, n := range e.Sample.Billing {
				typ, market, _ := strings.Cut(k, "/")
				h := float64(n) * e.Sample.Interval.Seconds() / 3600
				hours[market] += h
				cost += h * prices.Price(typ, market)
			}
		}
	}
	afterNotice := 0
	for _, e := range starts {
		if at, ok := noticeAt[e.Instance]; ok && at <= e.T {
			afterNotice++
		}
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	p95 := waits[int(math.Ceil(0.95*float64(len(waits))))-1]

	if sum.Done != done || len(sum.Waits) != done || len(started) < done {
		t.Errorf("summary done %d / waits %d, events done %d / started %d", sum.Done, len(sum.Waits), done, len(started))
	}
	// Every job ends once: done, or failed with no retry left.
	if sum.Retried != retried || sum.Done+sum.FailedForGood() != res.Jobs {
		t.Errorf("done %d + failed %d − retried %d (events %d) ≠ %d jobs", sum.Done, sum.FailedTotal(), sum.Retried, retried, res.Jobs)
	}
	for c, n := range failed {
		if sum.Failed[c] != n {
			t.Errorf("failed %q: summary %d, events %d", c, sum.Failed[c], n)
		}
	}
	if sum.P95 != p95 || sum.MaxWait != waits[len(waits)-1] {
		t.Errorf("p95/max %s/%s, events %s/%s", sum.P95, sum.MaxWait, p95, waits[len(waits)-1])
	}
	if sum.StartedAfterNotice != afterNotice || sum.Interruptions != len(noticeAt) {
		t.Errorf("after notice %d (notices %d), events %d (%d)", sum.StartedAfterNotice, sum.Interruptions, afterNotice, len(noticeAt))
	}
	for m, h := range hours {
		if math.Abs(sum.InstanceHours[m]-h) > 1e-9 {
			t.Errorf("%s hours %g, events %g", m, sum.InstanceHours[m], h)
		}
	}
	if math.Abs(sum.Cost-cost) > 1e-9 || cost == 0 {
		t.Errorf("cost %g, events %g", sum.Cost, cost)
	}
	total := 0
	for _, n := range res.Calls {
		total += n
	}
	if sum.APICalls != total || sum.CallsPerJob != float64(total)/float64(res.Jobs) {
		t.Errorf("calls %d (%.2f/job), counters %d", sum.APICalls, sum.CallsPerJob, total)
	}
	for _, e := range res.Events {
		if e.Kind == string(driver.JobFailed) && e.Cause == driver.CauseConnect {
			t.Logf("job %d: %s", e.Job, e.Detail)
		}
	}
	if len(noticeAt) == 0 {
		t.Errorf("no interruptions at 10 per spot instance-hour: the scenario did nothing")
	}
	if res.LeftBilling != 0 {
		t.Errorf("%d instances left billing", res.LeftBilling)
		for _, l := range workload.Lives(res.Events) {
			t.Logf("%s %s: %s", l.ID, l.Market, l.History())
		}
	}

	// The table and the HTML show these numbers.
	var table, html bytes.Buffer
	workload.WriteTable(&table, []workload.Summary{sum})
	if err := workload.WriteHTML(&html, sc, []*workload.Result{res}, []workload.Summary{sum}, prices); err != nil {
		t.Fatal(err)
	}
	for _, row := range workload.Rows([]workload.Summary{sum}) {
		if !strings.Contains(table.String(), row.Values[0]) || !strings.Contains(html.String(), row.Values[0]) {
			t.Errorf("row %q value %q missing from the table or the HTML", row.Name, row.Values[0])
		}
	}
	if !strings.Contains(html.String(), "<svg") {
		t.Errorf("HTML has no chart")
	}
}

func TestReadTrace(t *testing.T) {
	tr, err := workload.ReadTrace("t", strings.NewReader("# comment\nstart_offset,duration\n90,2m\n10.5, 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []workload.JobSpec{{At: 10500 * time.Millisecond, Duration: time.Minute}, {At: 90 * time.Second, Duration: 2 * time.Minute}}
	if len(tr.Specs) != 2 || tr.Specs[0] != want[0] || tr.Specs[1] != want[1] {
		t.Errorf("got %+v, want %+v", tr.Specs, want)
	}
	if _, err := workload.ReadTrace("bad", strings.NewReader("a,b\n1,x\n")); err == nil {
		t.Error("a malformed row was accepted")
	}
}

func TestPrices(t *testing.T) {
	p := workload.DefaultPrices()
	if err := p.ReadPrices(strings.NewReader("instance_type,market,usd_per_hour\nt3.micro,spot,0.5\n")); err != nil {
		t.Fatal(err)
	}
	if p.Price("t3.micro", "spot") != 0.5 || p.Price("t3.micro", "on-demand") != 0.0104 || p.Price("x9.huge", "spot") == 0 {
		t.Errorf("prices %v", p["t3.micro"])
	}
	if err := p.ReadPrices(strings.NewReader("t3.micro,reserved,1\n")); err == nil {
		t.Error("an unknown market was accepted")
	}
}

func TestWorkloadsAreReproducible(t *testing.T) {
	for _, name := range workload.Names() {
		sc, _ := workload.Lookup(name)
		a, b := sc.Workload.Jobs(sc.Seed), sc.Workload.Jobs(sc.Seed)
		if len(a) == 0 || len(a) != len(b) || a[0] != b[0] || a[len(a)-1] != b[len(b)-1] {
			t.Errorf("%s: jobs differ between identical seeds or are empty", name)
		}
	}
}
