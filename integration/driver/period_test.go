package driver

import (
	"testing"
	"time"
)

func TestActivePolicyLastMatchWins(t *testing.T) {
	policies := []Policy{
		{IdleCount: 1},
		{IdleCount: 5, Periods: []string{"* 8-17 * * mon-fri"}},
		{IdleCount: 9, Periods: []string{"*/30 9 * * *"}},
	}
	monday := func(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{monday(7, 59), 1}, {monday(8, 0), 5}, {monday(9, 30), 9}, {monday(9, 31), 5},
		{monday(18, 0), 1}, {monday(10, 0).AddDate(0, 0, 5), 1}, // Saturday
	} {
		if got := activePolicy(policies, c.at).IdleCount; got != c.want {
			t.Errorf("%s: idle_count %d, want %d", c.at.Format("Mon 15:04"), got, c.want)
		}
	}
	if err := ValidatePeriods([]Policy{{Periods: []string{"* * *"}}}); err == nil {
		t.Error("a 3-field period was accepted")
	}
	if err := ValidatePeriods([]Policy{{Periods: []string{"61 * * * *"}}}); err == nil {
		t.Error("minute 61 was accepted")
	}
}

func TestIdleTarget(t *testing.T) {
	d := &Driver{}
	p := Policy{IdleCount: 2, ScaleFactor: 0.5, ScaleFactorLimit: 4}
	for inUse, want := range map[int]int{0: 2, 4: 2, 6: 3, 20: 4} {
		if got := d.idleTarget(p, inUse); got != want {
			t.Errorf("in use %d: idle target %d, want %d", inUse, got, want)
		}
	}
	d.cfg.ScaleFactorAdds = true
	if got := d.idleTarget(p, 6); got != 5 {
		t.Errorf("adding: idle target %d, want 5", got)
	}
}
