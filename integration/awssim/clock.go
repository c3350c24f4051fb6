package awssim

import (
	"sync"
	"time"
)

// clock is the simulated clock: now = base + realElapsed*speed. Every delay
// in the simulator (boot, terminate, notice period, launch backoff) is
// measured on it, so a high speed compresses minutes into milliseconds.
// It has its own lock because Now is read without Sim.mu.
type clock struct {
	mu        sync.Mutex
	base      time.Time // simulated time at realStart
	realStart time.Time
	speed     float64
}

func newClock(speed float64) *clock {
	now := time.Now()
	return &clock{base: now.UTC().Truncate(time.Millisecond), realStart: now, speed: speed}
}

// Now returns the current simulated time (UTC).
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *clock) nowLocked() time.Time {
	elapsed := time.Since(c.realStart)
	return c.base.Add(time.Duration(float64(elapsed) * c.speed))
}

// SetSpeed changes the speed without a jump: the simulated time at the
// change becomes the new base.
func (c *clock) SetSpeed(speed float64) {
	if speed <= 0 {
		speed = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.nowLocked()
	c.realStart = time.Now()
	c.speed = speed
}

// Speed returns simulated seconds per real second.
func (c *clock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

// Advance jumps the simulated clock forward by d.
func (c *clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}
