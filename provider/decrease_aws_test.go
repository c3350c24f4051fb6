package provider

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// The plugin's own terminate is held by a termination hook and abandoned:
// Update keeps reporting the retained instance deleting and terminates it
// again, once, so it does not bill forever.
func TestUpdateTerminatesRetainedAfterOwnDecrease(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, provider.Settings{})
	ids := p.waitRunning(t, 2)
	ctx := testCtx(t)
	if err := s.SetTerminationHook("runners", &awssim.TerminationHook{RetainOnAbandon: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Decrease(ctx, ids[:1]); err != nil || len(got) != 1 {
		t.Fatalf("Decrease: %v, %v", got, err)
	}
	if err := s.CompleteTermination(ids[0], "ABANDON"); err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	for range 3 {
		if st := p.states(t)[ids[0]]; st != provider.StateDeleting && st != "" {
			t.Fatalf("retained instance reported %q", st)
		}
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 1 {
		t.Errorf("terminate calls over 3 updates = %d, want 1", n)
	}
	s.Advance(time.Minute)
	if inst, _ := s.Instance(ids[0]); inst.State != "terminated" {
		t.Errorf("retained instance is %s/%s, want terminated", inst.Lifecycle, inst.State)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 1 {
		t.Errorf("desired = %d, want 1", gr.Desired)
	}
	if p.log.Contains("desired capacity changed outside the plugin") {
		t.Errorf("false drift warning:\n%s", p.log)
	}
}

// Against an endpoint without the batch form Decrease works (one instance
// per call), says so once, and still refuses strangers.
func TestDecreaseWithoutTheBatchForm(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{TerminateBatch: awssim.TerminateBatchValidationError})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 4, Desired: 4}, provider.Settings{})
	ids := p.waitRunning(t, 4)
	ctx := testCtx(t)
	for _, part := range [][]string{ids[:2], ids[2:]} {
		got, err := p.Decrease(ctx, append([]string{"i-0000000000000f00d"}, part...))
		if err != nil || len(got) != 2 {
			t.Fatalf("Decrease: %v, %v", got, err)
		}
	}
	if gr, _ := s.Group("runners"); gr.Desired != 0 {
		t.Errorf("desired = %d, want 0", gr.Desired)
	}
	if n := strings.Count(p.log.String(), "rejects TerminateInstanceInAutoScalingGroup with InstanceIds"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, p.log)
	}
}
