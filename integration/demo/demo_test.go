package demo_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/integration"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// `make demo` must work on a fresh machine: both modes run every job over
// SSH through the real provisioner, end with nothing billing, and the
// output names markets, API calls, logs and the report.
func TestDemoRunsBothModesAndScalesToZero(t *testing.T) {
	bin := integration.BuildPluginBinary(t, "../../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")
	var out strings.Builder
	sum, err := demo.Run(context.Background(), demo.Config{
		Plugin: bin, OfficialLikePlugin: selfAsOfficialLike(t), OutDir: t.TempDir(),
		Tweak: func(sc *workload.Scenario) {
			sc.Speed = 60
			sc.Workload = workload.Steady{PerMinute: 2, MeanDuration: 2 * time.Minute, Window: 5 * time.Minute}
			sc.Interruptions = &workload.Interruptions{PerSpotHour: 6}
		},
	}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(sum.Summaries) != 2 {
		t.Fatalf("%d summaries, want 2 (ours, official-like)", len(sum.Summaries))
	}
	for i, s := range sum.Summaries {
		if s.Done+s.FailedForGood() != s.Jobs || s.Jobs == 0 {
			t.Errorf("%s: %d done + %d failed for good of %d jobs", s.Mode, s.Done, s.FailedForGood(), s.Jobs)
		}
		if n := s.Failed[driver.CauseShutdown] + s.Failed[driver.CauseAcquireTimeout]; n > 0 {
			t.Errorf("%s: %d jobs never ran: %v", s.Mode, n, s.Failed)
		}
		if sum.LeftRunning[i] != 0 {
			t.Errorf("%s: %d instances left billing", s.Mode, sum.LeftRunning[i])
		}
		r := sum.Results[i]
		connected := 0
		for _, e := range r.Events {
			if e.Kind == string(driver.JobConnected) {
				connected++
			}
		}
		if connected < s.Done {
			t.Errorf("%s: %d jobs connected over SSH, %d done", s.Mode, connected, s.Done)
		}
		for _, l := range workload.Lives(r.Events) {
			if l.Market == "" || l.Type == "" || l.AZ == "" {
				t.Errorf("%s: instance %s lacks market/type/AZ", s.Mode, l.ID)
			}
		}
	}
	// The official-like model ran in a plugin process of its own, as the
	// official plugin does: both modes pay the same gRPC round trip.
	if b, err := os.ReadFile(sum.Results[1].Log); err != nil || !strings.Contains(string(b), `"plugin started"`) {
		t.Errorf("official-like did not run as a plugin process (log %s: %v)", sum.Results[1].Log, err)
	}
	// Ours describes each instance once per lifetime; the official-like
	// mode once per connection.
	ours := sum.Results[0]
	if n, lives := ours.Calls["ec2:DescribeInstances"], len(workload.Lives(ours.Events)); n > lives {
		t.Errorf("ours: DescribeInstances called %d times for %d instances", n, lives)
	}
	if _, err := os.Stat(sum.Report); err != nil {
		t.Errorf("report: %v", err)
	}
	for _, want := range []string{"on-demand", "spot", "AWS API calls", "log: ", "HTML report: " + sum.Report, "scaled to zero: true"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// `make demo RUNS=n SEED=s` plays seeds s, s+1, …: each run names its seed,
// the job stream of a run is the seed's (the same for every mode), and the
// medians and ranges are printed per figure.
func TestDemoRepeatsSeededRuns(t *testing.T) {
	tweak := func(sc *workload.Scenario) {
		sc.Speed = 60
		sc.Workload = workload.Steady{PerMinute: 2, MeanDuration: time.Minute, Window: 2 * time.Minute}
		sc.Interruptions = nil
		sc.Drain = 5 * time.Minute
	}
	var out strings.Builder
	sum, err := demo.Run(context.Background(), demo.Config{
		OutDir: t.TempDir(), Modes: []workload.Mode{workload.OfficialLike}, KeyBits: 1024,
		Seed: 5, Runs: 2, Tweak: tweak,
	}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(sum.Repeats) != 1 {
		t.Fatalf("%d repeats, want 1", len(sum.Repeats))
	}
	rep := sum.Repeats[0]
	if len(rep.Seeds) != 2 || rep.Seeds[0] != 5 || rep.Seeds[1] != 6 || len(rep.ByMode) != 1 || len(rep.ByMode[0]) != 2 {
		t.Fatalf("seeds %v, summaries %d, want seeds 5 and 6 for one mode", rep.Seeds, len(rep.ByMode))
	}
	sc, _ := workload.Lookup("default")
	tweak(&sc)
	for i, s := range rep.ByMode[0] {
		if want := len(sc.Workload.Jobs(rep.Seeds[i])); s.Jobs != want {
			t.Errorf("seed %d: %d jobs, the seed's stream has %d", rep.Seeds[i], s.Jobs, want)
		}
	}
	for _, want := range []string{"seeds 5–6", "seed 5:", "seed 6:", "median [min–max]", "cost per successful job", "instances left billing over all runs: [0]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
