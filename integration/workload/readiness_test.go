package workload_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/integration"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// slow-boots side by side: ours (ready_when = "status-ok", the plugin
// binary over gRPC) hands no job an instance before its simulated status
// checks pass; the official-like group, which takes InService as ready,
// does. Every job of ours still runs.
func TestSlowBootsHandsNoJobAnUnreadyInstance(t *testing.T) {
	bin := integration.BuildPluginBinary(t, "../../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")
	sc, err := workload.Lookup("slow-boots")
	if err != nil {
		t.Fatal(err)
	}
	if sc.PluginConfig["ready_when"] != "status-ok" || sc.StatusCheckDelay == 0 {
		t.Fatalf("slow-boots does not gate on status checks: %+v", sc.PluginConfig)
	}
	sc.Speed = 60
	sc.Workload = workload.Steady{PerMinute: 3, MeanDuration: 2 * time.Minute, Window: 4 * time.Minute}
	var sums []workload.Summary
	for _, mode := range []workload.Mode{workload.Ours, workload.OfficialLike} {
		res, err := workload.Run(context.Background(), sc, mode, workload.Options{Plugin: bin, LogDir: t.TempDir(), KeygenCost: time.Second})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		s := workload.Summarize(res, workload.DefaultPrices())
		sums = append(sums, s)
		started := 0
		for _, e := range res.Events {
			if e.Kind == string(driver.JobStarted) {
				started++
			}
		}
		t.Logf("%s: %d jobs, %d started, %d handed an unready instance", mode, s.Jobs, started, s.HandedUnready)
	}
	ours, official := sums[0], sums[1]
	if ours.HandedUnready != 0 {
		t.Errorf("ours handed %d jobs an instance before its status checks passed", ours.HandedUnready)
	}
	if ours.Done != ours.Jobs {
		t.Errorf("ours: %d of %d jobs done (%v)", ours.Done, ours.Jobs, ours.Failed)
	}
	if official.HandedUnready == 0 {
		t.Errorf("official-like handed no job an unready instance: the scenario shows nothing")
	}
	var table strings.Builder
	workload.WriteTable(&table, sums)
	if !strings.Contains(table.String(), "jobs handed an instance before its status checks passed") {
		t.Errorf("table lacks the readiness row:\n%s", table.String())
	}
}
