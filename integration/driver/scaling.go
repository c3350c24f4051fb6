package driver

import (
	"math"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// idleTarget is the idle capacity in slots the policy asks for:
// max(idle_count, min(ceil(scale_factor × inUse), scale_factor_limit)), or
// their sum with ScaleFactorAdds [I].
func (d *Driver) idleTarget(p Policy, inUse int) int {
	extra := int(math.Ceil(p.ScaleFactor * float64(inUse)))
	if p.ScaleFactorLimit > 0 {
		extra = min(extra, p.ScaleFactorLimit)
	}
	if d.cfg.ScaleFactorAdds {
		return p.IdleCount + extra
	}
	return max(p.IdleCount, extra)
}

// scale requests instances up to what the policy requires, or removes the
// oldest idle instances past idle_time that are not needed.
func (d *Driver) scale(now time.Time, p Policy) {
	per := d.cfg.CapacityPerInstance
	inUse := len(d.running) + len(d.waiting)
	slots := inUse + d.idleTarget(p, inUse)
	required := min((slots+per-1)/per, d.cfg.MaxInstances)

	// Instances that can (or soon can) take jobs; unhealthy, exhausted,
	// leaving ones hold no capacity, so they are replaced [runaway guard
	// in spirit: nothing counts twice].
	current := d.prov.Capacity().Requested
	total := current
	for _, in := range d.instances {
		if in.state == provider.StateCreating || in.state == provider.StateRunning {
			total++
		}
		if in.state == provider.StateCreating && !in.removing ||
			in.state == provider.StateRunning && (in.usable(d.cfg) || !in.ready && !in.removing) {
			current++
		}
	}

	if delta := min(required-current, d.cfg.MaxInstances-total); delta > 0 && !d.draining {
		d.prov.Request(delta)
		d.emit(Event{Kind: ScaleUp, Count: delta})
		return
	}

	surplus := current - required
	for _, in := range d.sorted() {
		if in.removing || in.state != provider.StateRunning || !in.ready || len(in.jobs) > 0 {
			continue
		}
		switch {
		case in.drain || in.unhealthy || (d.cfg.MaxUseCount > 0 && in.uses >= d.cfg.MaxUseCount):
			d.remove(in, "idle and no longer usable")
		case surplus > 0 && now.Sub(in.idleFrom) >= p.IdleTime:
			d.remove(in, "idle_time elapsed")
			surplus--
		}
	}
}
