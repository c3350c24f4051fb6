package property_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Shrinking: for each violation class a failing run showed, drop steps of
// its plan for as long as the class still shows, and print what remains —
// the minimal step sequence for the report. Each try is a fresh world
// (a new simulator and plugin), so it costs a few seconds; hence opt-in:
// PROPERTY_SHRINK=1 or -property.shrink.

var flagShrink = flag.Bool("property.shrink", false, "shrink failing runs to a minimal step sequence per violation class")

func shrinkWanted() bool { return *flagShrink || os.Getenv("PROPERTY_SHRINK") == "1" }

func shrinkReport(t *testing.T, seed uint64, ops []op, violations []violation) string {
	var b strings.Builder
	done := map[string]bool{}
	for _, v := range violations {
		if done[v.class] {
			continue
		}
		done[v.class] = true
		minimal := shrink(t, seed, ops, v.class)
		fmt.Fprintf(&b, "seed %d, %s (%s), minimal %d of %d steps:\n", seed, v.class, classPath(v.class), len(minimal), len(ops))
		for i, o := range minimal {
			fmt.Fprintf(&b, "  %2d. %s\n", i+1, o)
		}
		fmt.Fprintf(&b, "  replay: PROPERTY_SEED=%d PROPERTY_RUNS=1 PROPERTY_PLAN='%s'\n", seed, planString(minimal))
	}
	return b.String()
}

// shrink removes chunks of the plan, halving the chunk size down to single
// steps, keeping every removal after which class still shows.
func shrink(t *testing.T, seed uint64, ops []op, class string) []op {
	cur := append([]op(nil), ops...)
	try := 0
	shows := func(cand []op) bool {
		try++
		found := false
		t.Run(fmt.Sprintf("shrink-%s-%d", class, try), func(t *testing.T) {
			w := newWorld(t, seed, newStats())
			w.run(cand)
			for _, v := range w.violations {
				found = found || v.class == class
			}
		})
		return found
	}
	for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
		for i := 0; i < len(cur); {
			end := min(i+chunk, len(cur))
			cand := append(append([]op(nil), cur[:i]...), cur[end:]...)
			if shows(cand) {
				cur = cand
			} else {
				i = end
			}
		}
	}
	return cur
}
