package awssim

import (
	mrand "math/rand/v2"
	"sync"
)

// draws is the simulator's own randomness: instance, spot request and
// launch template ids, Windows passwords, fault probabilities. Seeded
// (Options.Seed), the same calls in the same order get the same ids, so a
// failing property seed replays on the same instances; unseeded, every
// simulator differs.
type draws struct {
	mu  sync.Mutex
	rng *mrand.Rand
}

func newDraws(seed uint64) *draws {
	if seed == 0 {
		seed = mrand.Uint64()
	}
	return &draws{rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (d *draws) float64() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64()
}

// pick returns n characters drawn from chars after prefix.
func (d *draws) pick(prefix, chars string, n int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := make([]byte, len(prefix)+n)
	copy(b, prefix)
	for i := len(prefix); i < len(b); i++ {
		b[i] = chars[d.rng.IntN(len(chars))]
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// id returns prefix + n hex digits (i-0123…, sir-…).
func (d *draws) id(prefix string, n int) string { return d.pick(prefix, hexDigits, n) }

// password is a Windows-style administrator password.
func (d *draws) password() string {
	return d.pick("", "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$%&*()-=+", 32)
}
