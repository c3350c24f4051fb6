package workload_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// A seed names a run: every shipped scenario gives the same job stream
// for the same seed (so both modes and every rerun face the same jobs),
// and a different stream for another seed.
func TestSameSeedSameJobStream(t *testing.T) {
	for _, name := range workload.Names() {
		sc, err := workload.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		a, b := sc.Workload.Jobs(3), sc.Workload.Jobs(3)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: seed 3 gave %d then %d jobs, or different ones", name, len(a), len(b))
		}
		if _, isTrace := sc.Workload.(workload.Trace); !isTrace && reflect.DeepEqual(a, sc.Workload.Jobs(4)) {
			t.Errorf("%s: seeds 3 and 4 gave the same jobs", name)
		}
	}
}

// The spot interruption draws are a function of (seed, minute, n-th spot
// instance) only, not of a random stream the number of instances advances:
// both modes' n-th spot instance meets the same fate at each minute. Over
// many draws they are uniform, so the configured rate holds.
func TestInterruptionDrawsDependOnSeedMinuteAndRankOnly(t *testing.T) {
	same, differ := 0, 0
	below := 0
	const n = 20000
	for i := 0; i < n; i++ {
		m, k := i%60, i/60
		d := workload.Draw(7, m, k)
		if d < 0 || d >= 1 {
			t.Fatalf("Draw(7, %d, %d) = %v, want [0, 1)", m, k, d)
		}
		if d != workload.Draw(7, m, k) {
			t.Fatalf("Draw(7, %d, %d) changed between calls", m, k)
		}
		if d == workload.Draw(8, m, k) {
			same++
		} else {
			differ++
		}
		if d < 1.0/60 {
			below++
		}
	}
	if same > 0 {
		t.Errorf("seeds 7 and 8 agree on %d of %d draws", same, n)
	}
	// 1/60 of 20000 ≈ 333, σ ≈ 18.
	if below < 250 || below > 420 {
		t.Errorf("%d of %d draws under 1/60, want about %d", below, n, n/60)
	}
}

func TestSpreadOfIsMedianAndRange(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want workload.Spread
	}{
		{nil, workload.Spread{}},
		{[]float64{4}, workload.Spread{Median: 4, Min: 4, Max: 4}},
		{[]float64{5, 1, 3, 9, 2}, workload.Spread{Median: 3, Min: 1, Max: 9}},
		{[]float64{4, 1, 3, 2}, workload.Spread{Median: 2.5, Min: 1, Max: 4}},
	} {
		in := append([]float64(nil), tc.in...)
		if got := workload.SpreadOf(tc.in); got != tc.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("SpreadOf reordered its input %v → %v", in, tc.in)
		}
	}
}

// The repeat table shows median [min–max] per mode and the ratio of the
// medians; the goals are judged on medians, "fewer" strictly where the
// official-like model has any.
func TestRepeatTableAndGoals(t *testing.T) {
	run := func(mode workload.Mode, failed, afterNotice int, p95 time.Duration, cost, calls float64) workload.Summary {
		return workload.Summary{Mode: mode, Jobs: 10, Done: 10 - failed, Failed: map[string]int{"x": failed},
			StartedAfterNotice: afterNotice, P95: p95, Cost: cost, CostPerDone: cost / float64(10-failed), CallsPerJob: calls}
	}
	ours := []workload.Summary{
		run(workload.Ours, 0, 0, 60*time.Second, 0.09, 6),
		run(workload.Ours, 1, 0, 90*time.Second, 0.09, 7),
		run(workload.Ours, 0, 0, 70*time.Second, 0.09, 5),
	}
	official := []workload.Summary{
		run(workload.OfficialLike, 2, 1, 80*time.Second, 0.10, 5),
		run(workload.OfficialLike, 3, 2, 100*time.Second, 0.10, 5),
		run(workload.OfficialLike, 1, 0, 70*time.Second, 0.10, 6),
	}
	var buf bytes.Buffer
	workload.WriteRepeatTable(&buf, []workload.Mode{workload.Ours, workload.OfficialLike}, [][]workload.Summary{ours, official})
	out := buf.String()
	for _, want := range []string{"jobs failed", "0 [0–1]", "2 [1–3]", "1:10 [1:00–1:30]", "1:20 [1:10–1:40]", "×0.88", "6.0 [5.0–7.0]"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	goals := workload.Goals(ours, official)
	// calls/job: 6 ≤ 1.2 × 5; cost/job: 0.01 vs ≈0.0125; p95 70s ≤ 80s;
	// failed 0 < 2; after notice 0 < 1.
	for _, g := range goals {
		if !g.Met {
			t.Errorf("goal %q missed: %s", g.Name, g.Detail)
		}
	}
	ours[0].P95, ours[2].P95 = 85*time.Second, 85*time.Second
	ours[0].StartedAfterNotice, ours[1].StartedAfterNotice = 1, 1
	missed := map[string]bool{}
	for _, g := range workload.Goals(ours, official) {
		if !g.Met {
			missed[g.Name] = true
		}
	}
	if len(missed) != 2 || !missed["job wait p95 ≤ official-like"] || !missed["jobs started after a notice fewer (or both none)"] {
		t.Errorf("missed %v, want p95 and after-notice", missed)
	}
	// A miss within fleeting's 2 s loop is still a miss, and says so; a
	// larger one does not.
	p95Goal := func(ours, official time.Duration) workload.Goal {
		for _, g := range workload.Goals([]workload.Summary{run(workload.Ours, 0, 0, ours, 0.1, 5)}, []workload.Summary{run(workload.OfficialLike, 0, 0, official, 0.1, 5)}) {
			if g.Name == "job wait p95 ≤ official-like" {
				return g
			}
		}
		t.Fatal("no p95 goal")
		return workload.Goal{}
	}
	if g := p95Goal(58*time.Second, 57*time.Second); g.Met || !strings.Contains(g.Detail, "1.0s apart, within one 2s update loop") {
		t.Errorf("1 s behind: met %v, %q", g.Met, g.Detail)
	}
	if g := p95Goal(61*time.Second, 57*time.Second); g.Met || strings.Contains(g.Detail, "update loop") {
		t.Errorf("4 s behind: met %v, %q", g.Met, g.Detail)
	}
	// Equal as printed is a tie: 58.04 s and 57.96 s both show 58.0s.
	if g := p95Goal(58040*time.Millisecond, 57960*time.Millisecond); !g.Met {
		t.Errorf("58.0s vs 58.0s as shown: missed, %q", g.Detail)
	}
	if g := p95Goal(58100*time.Millisecond, 57960*time.Millisecond); g.Met {
		t.Errorf("58.1s vs 58.0s: met, %q", g.Detail)
	}
	// The table's ratio column says "=" for medians both zero as shown, not
	// a ratio of what rounds away.
	var tb bytes.Buffer
	workload.WriteRepeatTable(&tb, []workload.Mode{workload.Ours, workload.OfficialLike}, [][]workload.Summary{
		{run(workload.Ours, 0, 0, 170*time.Microsecond, 0.1, 5)}, {run(workload.OfficialLike, 0, 0, 100*time.Microsecond, 0.1, 5)}})
	for _, line := range strings.Split(tb.String(), "\n") {
		if strings.HasPrefix(line, "job wait p95") && (!strings.Contains(line, "=") || strings.Contains(line, "×")) {
			t.Errorf("p95 0s vs 0s as shown: %q, want the ratio \"=\"", line)
		}
	}
	// Both without failures ties.
	none := []workload.Summary{run(workload.Ours, 0, 0, time.Minute, 0.1, 5)}
	for _, g := range workload.Goals(none, none) {
		if !g.Met {
			t.Errorf("equal runs miss %q", g.Name)
		}
	}
}
