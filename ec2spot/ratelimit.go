package ec2spot

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// RateLimit is a client-side request budget: Rate requests per second with
// bursts of up to Burst. A zero Rate means no limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// RateLimits are the budgets of the three AWS API families the plugin
// calls. Auto Scaling throttles all its APIs from one bucket per account
// and region, so every Auto Scaling call of the process shares one limiter.
type RateLimits struct {
	AutoScaling     RateLimit
	EC2             RateLimit
	InstanceConnect RateLimit
}

// Throttle recovery: a throttled family halves its rate (down to
// 1/minRateDivisor of the configured one) and regains recoverStep of the
// configured rate per successful call, so one shared budget backs off for
// every caller at once instead of each retrying at full speed.
const (
	minRateDivisor = 16
	recoverStep    = 0.05
)

// apiLimiter is the shared limiter of one API family.
type apiLimiter struct {
	base rate.Limit
	lim  *rate.Limiter

	mu      sync.Mutex
	current rate.Limit
}

func newAPILimiter(l RateLimit) *apiLimiter {
	if l.Rate <= 0 {
		return nil
	}
	burst := max(l.Burst, 1)
	r := rate.Limit(l.Rate)
	return &apiLimiter{base: r, current: r, lim: rate.NewLimiter(r, burst)}
}

// wait blocks until the family's budget allows one request.
func (a *apiLimiter) wait(ctx context.Context) error {
	if a == nil {
		return nil
	}
	return a.lim.Wait(ctx)
}

// throttled slows the family down after AWS throttled a request.
func (a *apiLimiter) throttled() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.current = max(a.current/2, a.base/minRateDivisor)
	a.lim.SetLimit(a.current)
}

// succeeded lets a slowed-down family recover towards its configured rate.
func (a *apiLimiter) succeeded() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current >= a.base {
		return
	}
	a.current = min(a.base, a.current+a.base*recoverStep)
	a.lim.SetLimit(a.current)
}

// currentRate is the family's current rate (tests).
func (a *apiLimiter) currentRate() rate.Limit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

// limiterSet holds one limiter per family; nil entries are unlimited.
type limiterSet struct {
	autoScaling, ec2, instanceConnect *apiLimiter
	observer                          Observer // nil = none
}

func newLimiterSet(l RateLimits) *limiterSet {
	return &limiterSet{
		autoScaling:     newAPILimiter(l.AutoScaling),
		ec2:             newAPILimiter(l.EC2),
		instanceConnect: newAPILimiter(l.InstanceConnect),
	}
}
