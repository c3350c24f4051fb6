package ec2spot

import (
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// SetDesiredCapacity took effect but its answer was lost (a timeout or a
// reset connection): Increase looks at the group and reports the instances
// as requested, so fleeting does not ask again and get them twice.
func TestIncreaseConfirmsAnAmbiguousFailure(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 5})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", DropResponse: true})
	res, err := g.Increase(ctx, 2)
	if err != nil || res.Requested != 2 || res.Desired != 2 {
		t.Fatalf("Increase(2) after a lost answer = %+v, %v; want 2 requested", res, err)
	}
	s.ClearFaults()
	// The next Increase builds on the confirmed value: 2 more, not 2 again.
	res, err = g.Increase(ctx, 2)
	if err != nil || res.From != 2 || res.Desired != 4 {
		t.Fatalf("next Increase(2) = %+v, %v; want from 2 to 4", res, err)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 4 {
		t.Errorf("group desired %d, want 4", gr.Desired)
	}

	// A call that never reached AWS stays an error.
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "SetDesiredCapacity", Reset: true})
	if res, err := g.Increase(ctx, 1); err == nil || res.Requested != 0 {
		t.Errorf("Increase through reset connections = %+v, %v; want an error", res, err)
	}
}
