package demo_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"gitlab.com/gitlab-org/fleeting/fleeting/integration"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
)

// The README's first command must work on a fresh machine: every job runs
// on its own instance, everything is gone afterwards, and the AWS calls stay
// within the plugin's budget.
func TestDemoRunsJobsAndScalesToZero(t *testing.T) {
	bin := integration.BuildPluginBinary(t, "../../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")
	var out strings.Builder
	sum, err := demo.Run(context.Background(), demo.Config{Plugin: bin, Jobs: 4, Speed: 60, LogDir: t.TempDir()}, io.MultiWriter(&out))
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if sum.JobsOK != 4 || sum.JobsFailed != 0 {
		t.Errorf("jobs ok/failed = %d/%d, want 4/0\n%s", sum.JobsOK, sum.JobsFailed, out.String())
	}
	if sum.LeftRunning != 0 {
		t.Errorf("%d instances left in the account", sum.LeftRunning)
	}
	for _, inst := range sum.Instances {
		if last := inst.States[len(inst.States)-1].State; last != provider.StateDeleted {
			t.Errorf("instance %s ended %s, want deleted", inst.ID, last)
		}
		if inst.Market == "" {
			t.Errorf("instance %s has no market in the report", inst.ID)
		}
	}
	// One scale-up call for the whole burst, one describe per instance
	// lifetime for its connect details, no extra describes of instances.
	if n := sum.Calls["autoscaling:SetDesiredCapacity"]; n != 1 {
		t.Errorf("SetDesiredCapacity called %d times, want 1", n)
	}
	if n := sum.Calls["ec2:DescribeInstances"]; n > 4 {
		t.Errorf("DescribeInstances called %d times for 4 instances, want ≤ 4", n)
	}
	for _, want := range []string{"jobs: 4 ok, 0 failed", "AWS API calls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
