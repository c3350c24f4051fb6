package awssim_test

import (
	"slices"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// A seed fixes the simulator's ids: a replay of a property-test seed gets
// the same instances; another seed (or none) gets others.
func TestSeedFixesInstanceIDs(t *testing.T) {
	ids := func(seed uint64) []string {
		sim, err := awssim.Start(awssim.Options{Seed: seed, Speed: 60, BootDelay: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		if err := sim.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 3}); err != nil {
			t.Fatal(err)
		}
		var out []string
		eventually(t, "3 instances", func() bool {
			out = out[:0]
			for _, inst := range sim.Instances() {
				out = append(out, inst.ID+"/"+inst.SpotRequestID)
			}
			return len(out) == 3
		})
		slices.Sort(out)
		return out
	}
	a, b, c := ids(42), ids(42), ids(43)
	if !slices.Equal(a, b) {
		t.Errorf("seed 42 twice: %v vs %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same ids %v", a)
	}
}
