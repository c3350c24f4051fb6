package ec2spot

import (
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retry delays after throttling: at least half of an exponential step from
// 1s (capped at the SDK's 20s), never the near-zero delay full jitter can
// pick, which would spend the next attempt on the same empty bucket.
const (
	throttleBaseDelay = time.Second
	throttleMaxDelay  = retry.DefaultMaxBackoff
)

// throttleAwareBackoff delays throttled attempts as above and leaves every
// other retryable error to the SDK's own backoff.
type throttleAwareBackoff struct{ other retry.BackoffDelayer }

func newThrottleAwareBackoff() throttleAwareBackoff {
	return throttleAwareBackoff{other: retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff)}
}

func (b throttleAwareBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	if !IsThrottle(err) {
		return b.other.BackoffDelay(attempt, err)
	}
	return throttleDelay(attempt), nil
}

// throttleDelay is the delay after the attempt-th (1-based) throttled attempt.
func throttleDelay(attempt int) time.Duration {
	d := throttleMaxDelay
	if shift := attempt - 1; shift >= 0 && shift < 5 {
		d = min(throttleBaseDelay<<shift, throttleMaxDelay)
	}
	return d/2 + rand.N(d/2+1)
}
