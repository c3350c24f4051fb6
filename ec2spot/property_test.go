package ec2spot

import (
	"math/rand/v2"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// TestScalingAccountingProperty runs random Increase/Decrease/Refresh
// sequences and checks the promises Increase makes to fleeting: never more
// than n, never beyond MaxSize, and every requested instance really added
// to desired capacity. With a consistent API the group's desired capacity
// is exactly what the plugin requested minus what it terminated (nothing
// counted twice, nothing lost); with describes that randomly lag behind it
// may err high (an idle instance), never low (a broken promise).
func TestScalingAccountingProperty(t *testing.T) {
	for _, lagging := range []bool{false, true} {
		for seed := uint64(1); seed <= 4; seed++ {
			name := "consistent"
			if lagging {
				name = "lagging"
			}
			t.Run(name, func(t *testing.T) { scalingProperty(t, seed, lagging) })
		}
	}
}

func scalingProperty(t *testing.T, seed uint64, lagging bool) {
	rng := rand.New(rand.NewPCG(seed, 42))
	s := fastSim(t, awssim.Options{})
	lag := &laggingASG{}
	const maxSize = 8
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: maxSize}, func(o *GroupOptions) {
		lag.AutoScalingAPI = o.Clients.AutoScaling
		o.Clients.AutoScaling = lag
	})
	ctx := testCtx(t)
	if _, _, err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	desired := func() int { gr, _ := s.Group("runners"); return gr.Desired }
	want := 0
	for step := 0; step < 40; step++ {
		if lagging && rng.IntN(3) == 0 {
			lag.lag(1 + rng.IntN(2))
		}
		switch rng.IntN(3) {
		case 0:
			n := 1 + rng.IntN(4)
			before := desired()
			res, err := g.Increase(ctx, n)
			after := desired()
			if res.Requested > n || after > maxSize || after-before < res.Requested || (err != nil && after != before) || (!lagging && after-before != res.Requested) {
				t.Fatalf("step %d: Increase(%d) = %+v, %v; desired %d → %d", step, n, res, err, before, after)
			}
			want += after - before
		case 1:
			var ids []string
			for _, i := range g.Latest().Instances {
				if rng.IntN(2) == 0 {
					ids = append(ids, i.ID)
				}
			}
			out, err := g.Decrease(ctx, ids)
			if err != nil {
				t.Fatalf("step %d: Decrease: %v", step, err)
			}
			for _, o := range out {
				if o.Status == DecreaseRequested {
					want--
				}
			}
		case 2:
			if _, _, err := g.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := desired(); got != want {
			t.Fatalf("step %d: group desired %d, plugin accounted %d", step, got, want)
		}
		if !lagging && want != g.expected {
			t.Fatalf("step %d: plugin expects desired %d, group has %d", step, g.expected, want)
		}
	}
}
