package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// runStatus runs `status` in process, wired as main wires it.
func runStatus(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := admin.CLI{Stdout: &out, Stderr: &errOut, LoadAWS: ec2spot.LoadAWSConfig, MapState: provider.ReportedState}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code = c.Run(ctx, append([]string{"status"}, args...))
	return out.String(), errOut.String(), code
}

func waitInService(t *testing.T, s *awssim.Sim, group string, n int) []awssim.Instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var in []awssim.Instance
		for _, i := range s.Instances() {
			if i.Group == group && i.Lifecycle == "InService" {
				in = append(in, i)
			}
		}
		if len(in) == n {
			sort.Slice(in, func(a, b int) bool { return in[a].ID < in[b].ID })
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances in service", len(in), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// status lists what the simulator's control API shows, from read calls
// only, within its fixed call budget.
func TestStatusListsWhatTheSimulatorShows(t *testing.T) {
	s := simtest.Start(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", Desired: 3}); err != nil {
		t.Fatal(err)
	}
	members := waitInService(t, s, "runners", 3)
	doomed := members[0].ID
	if err := s.Interrupt(doomed, "terminate"); err != nil {
		t.Fatal(err)
	}
	// A group that cannot launch (no spot capacity anywhere), in fallback.
	for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if err := s.CreateGroup(awssim.GroupSpec{Name: "short", Desired: 1, Tags: map[string]string{ec2spot.FallbackTagKey: "0"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasFailedActivity(s, "short") {
		if time.Now().After(deadline) {
			t.Fatal("the short group never failed a launch")
		}
		time.Sleep(10 * time.Millisecond)
	}

	dir := t.TempDir()
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(`
[[runners]]
  name = "spot"
  [runners.autoscaler]
    plugin = "fleeting-plugin-ec2spot"
    [runners.autoscaler.plugin_config]
      name = "runners"
[[runners]]
  name = "short"
  [runners.autoscaler]
    plugin = "fleeting-plugin-ec2spot"
    [runners.autoscaler.plugin_config]
      name = "short"
`), 0o600); err != nil {
		t.Fatal(err)
	}

	s.ResetCalls()
	out, errOut, code := runStatus(t, "--config", config, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	calls := s.Calls()
	for action, n := range calls {
		_, verb, _ := strings.Cut(action, ":")
		if !strings.HasPrefix(verb, "Describe") {
			t.Errorf("status called %s: it must only read", action)
		}
		// Per group: one of each (the short group has no spot request).
		if limit := 2; n > limit {
			t.Errorf("status called %s %d times for two groups (no per-instance calls)", action, n)
		}
	}
	for _, want := range []string{"autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances", "ec2:DescribeSpotInstanceRequests", "autoscaling:DescribeScalingActivities"} {
		if calls[want] == 0 {
			t.Errorf("status never called %s (calls %v)", want, calls)
		}
	}

	var reports []admin.StatusReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(reports) != 2 || reports[0].Group != "runners" || reports[1].Group != "short" {
		t.Fatalf("status --json: want the runners and short groups, got %s", out)
	}
	r := reports[0]

	// Every member the simulator shows, as it shows it.
	g, _ := s.Group("runners")
	var want []string
	for _, i := range s.Instances() {
		if i.Group == "runners" {
			want = append(want, i.ID+" "+i.Lifecycle+" "+i.InstanceType+" "+i.AZ+" "+string(i.Market)+" "+i.SpotRequestID)
		}
	}
	var got []string
	for _, i := range r.Instances {
		got = append(got, i.ID+" "+i.LifecycleState+" "+i.InstanceType+" "+i.AvailabilityZone+" "+i.Market+" "+i.SpotRequestID)
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("instances\n got %q\nwant %q (the simulator's)", got, want)
	}
	for _, i := range r.Instances {
		switch {
		case i.ID == doomed:
			if i.Reports != "deleting" || i.SpotRequestStatus != "marked-for-termination" || !strings.Contains(i.Why, "AWS is taking it") {
				t.Errorf("interrupted instance: reports %q (%s), spot request %s/%s; want deleting for the interruption", i.Reports, i.Why, i.SpotRequestState, i.SpotRequestStatus)
			}
		case i.Reports != "running" || !i.Reported || i.SpotRequestState != "active" || !i.Protected || i.LaunchTime == nil:
			t.Errorf("instance %+v: want running, protected, an active spot request and a launch time", i)
		}
	}
	if r.Sizes.Desired != g.Desired || r.Sizes.Max != g.MaxSize || r.Sizes.Members != len(want) || r.Sizes.ByReports["running"] != 2 || r.Sizes.ByReports["deleting"] != 1 {
		t.Errorf("sizes %+v; the simulator's group has desired %d, max %d", r.Sizes, g.Desired, g.MaxSize)
	}
	var wantActs []string
	for n := len(g.Activities) - 1; n >= 0 && len(wantActs) < ec2spot.StatusActivities; n-- {
		wantActs = append(wantActs, g.Activities[n].ID+" "+g.Activities[n].Cause)
	}
	var gotActs []string
	for _, a := range r.Activities {
		gotActs = append(gotActs, a.ID+" "+a.Cause)
	}
	if len(gotActs) == 0 || strings.Join(gotActs, "\n") != strings.Join(wantActs, "\n") {
		t.Errorf("activities\n got %q\nwant %q (the simulator's, newest first)", gotActs, wantActs)
	}
	if r.Fallback.Phase != ec2spot.FallbackSpot || r.Fallback.OnDemandPercentage != 0 {
		t.Errorf("fallback %+v, want spot at the group's 0%%", r.Fallback)
	}

	short := reports[1]
	if f := short.Failure; f == nil || f.Reason != string(ec2spot.FailureSpotCapacity) || f.Hint == "" || f.AvailabilityZone == "" {
		t.Errorf("newest launch failure %+v, want a spot capacity failure with its zone and a fix", f)
	}
	if f := short.Fallback; f.Phase != ec2spot.FallbackOnDemand || f.OriginalPercentage == nil || *f.OriginalPercentage != 0 {
		t.Errorf("fallback %+v, want on_demand in force (the group carries the fallback tag) restoring 0%%", f)
	}

	// The text form says the same for people.
	text, errOut, code := runStatus(t, "--config", config, "--runner", "spot")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"group runners in us-east-1", doomed, "deleting", "marked-for-termination", "AWS is taking it",
		"scaling activities (newest first", "cause: ", "sizes: desired 3, min 0, max 10; 3 members (2 running, 1 deleting)",
		"on-demand fallback: spot (not in force", "newest launch failure: none"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

func hasFailedActivity(s *awssim.Sim, group string) bool {
	g, _ := s.Group(group)
	for _, a := range g.Activities {
		if a.StatusCode == "Failed" {
			return true
		}
	}
	return false
}

func TestStatusErrors(t *testing.T) {
	simtest.Start(t, awssim.Options{})
	if _, errOut, code := runStatus(t, "--name", "missing"); code != admin.ExitFailed || !strings.Contains(errOut, `auto scaling group "missing" not found`) {
		t.Errorf("status of a missing group: exit %d, %s", code, errOut)
	}
	if _, _, code := runStatus(t); code != admin.ExitUsage {
		t.Errorf("status without a group: exit %d, want usage", code)
	}
}
