package provider

import (
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// The runner's side of a spot notice: Update reports the instance
// deleting, the runner asks for one replacement, and exactly one instance
// launches — the group adds none when AWS takes the noticed one, and the
// runner's Decrease of it afterwards lowers nothing.
func TestNoticedInstanceIsReplacedOnce(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{Name: "runners", MaxSize: 6}, provider.Settings{})
	ctx := testCtx(t)
	if _, err := p.Increase(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ids := p.waitRunning(t, 3)
	s.SetSpeed(0.0001) // AWS's clock moves only by Advance
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	if st := p.states(t); st[ids[0]] != provider.StateDeleting {
		t.Fatalf("noticed instance reported %s, want deleting", st[ids[0]])
	}
	before := len(s.Instances())
	// The runner replaces the instance it sees deleting.
	if n, err := p.Increase(ctx, 1); err != nil || n != 1 {
		t.Fatalf("Increase(1) = %d, %v", n, err)
	}
	s.Advance(3 * time.Minute) // AWS takes the noticed instance
	for range 2 {
		p.states(t)
		s.Advance(time.Minute)
	}
	if n := len(s.Instances()) - before; n != 1 {
		t.Errorf("%d instances launched after the notice, want 1 (the runner's replacement)", n)
	}
	if got, err := p.Decrease(ctx, ids[:1]); err != nil || len(got) != 1 {
		t.Fatalf("Decrease of the reclaimed instance: %v, %v", got, err)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 3 {
		t.Errorf("desired = %d, want 3 (what the runner asked for, less the reclaimed instance)", gr.Desired)
	}
}
