package provider

import (
	"context"
	"errors"
	"fmt"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Increase requests up to n more instances. Across gRPC an error zeroes the
// count, so any progress returns a nil error; it never returns more than n.
func (g *InstanceGroup) Increase(ctx context.Context, n int) (int, error) {
	fleet, log, err := g.ready()
	if err != nil {
		return 0, err
	}
	out, err := fleet.Increase(ctx, n)
	if out.Hold != nil {
		logHold(log, out.Hold, n)
		return 0, nil
	}
	res := out.IncreaseResult
	if err == nil && len(out.PoolErrors) > 0 {
		log.Warn("synchronous launch fell short in some pools; the rest of the request stays queued in the runner",
			"asked", n, "launched", res.Requested, "pool_errors", len(out.PoolErrors))
	}
	if err != nil {
		log.Error("requesting instances failed", "requested", n, "desired_capacity", res.From, "max_size", res.MaxSize, "error", err)
		return 0, err
	}
	if res.Requested < n && res.Desired >= res.MaxSize {
		log.Warn("requested fewer instances than asked: the group reached its MaxSize",
			"asked", n, "requested", res.Requested, "desired_capacity", res.Desired, "max_size", res.MaxSize)
	}
	g.metrics.Requested(min(res.Requested, n))
	log.Info("requested instances", "requested", res.Requested, "from_desired_capacity", res.From, "desired_capacity", res.Desired)
	return min(res.Requested, n), nil
}

// Decrease requests removal of the given instances and returns those that
// are removed or on their way out. Ids that are not members of the group are
// refused and logged, never terminated. Any progress returns a nil error.
func (g *InstanceGroup) Decrease(ctx context.Context, ids []string) ([]string, error) {
	fleet, log, err := g.ready()
	if err != nil {
		return nil, err
	}
	outcomes, err := fleet.Decrease(ctx, ids)
	if fleet.SingleFormTerminate() && g.singleFormLogged.CompareAndSwap(false, true) {
		log.Warn("this Auto Scaling endpoint rejects TerminateInstanceInAutoScalingGroup with InstanceIds (a 2026 addition): terminating one instance per call, members of the group only")
	}
	if err != nil {
		log.Error("removing instances failed", "instances", ids, "error", err)
		return nil, err
	}

	var (
		succeeded []string
		problems  []error
	)
	for _, o := range outcomes {
		kv := []any{"instance", o.ID, "outcome", o.Status.String()}
		switch o.Status {
		case ec2spot.DecreaseRequested:
			log.Info("requested instance termination", kv...)
		case ec2spot.DecreaseAlreadyTerminating, ec2spot.DecreaseAlreadyGone:
			log.Debug("instance already on its way out", kv...)
		case ec2spot.DecreaseLoweredDesired:
			log.Info("instance already terminated by AWS (spot reclaim or health replacement); lowered desired capacity so the group does not replace it", kv...)
		case ec2spot.DecreaseRefusedForeign, ec2spot.DecreaseRefusedOperator, ec2spot.DecreaseRefusedWarmPool:
			log.Error("refusing to terminate instance", kv...)
			problems = append(problems, fmt.Errorf("instance %s: %s", o.ID, o.Status))
		case ec2spot.DecreaseFailed:
			log.Error("terminating instance failed", append(kv, "error", o.Err)...)
			problems = append(problems, fmt.Errorf("instance %s: %w", o.ID, o.Err))
		}
		if o.Status.Done() {
			succeeded = append(succeeded, o.ID)
		}
	}
	if len(succeeded) == 0 && len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if len(problems) > 0 {
		log.Warn("removed some instances; the others are retried", "removed", len(succeeded), "not_removed", len(problems))
	}
	return succeeded, nil
}
