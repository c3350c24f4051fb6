package ec2spot

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"
)

// IncreaseResult says what Increase requested.
type IncreaseResult struct {
	Requested int // instances requested, ≤ n
	From      int // desired capacity it built on
	Desired   int // desired capacity it set (From + Requested)
	MaxSize   int
}

// AtMaxSizeError: no instance could be requested because the group is full.
type AtMaxSizeError struct {
	Name             string
	Desired, MaxSize int
}

func (e *AtMaxSizeError) Error() string {
	return fmt.Sprintf("auto scaling group %q is at its MaxSize (desired capacity %d, MaxSize %d): raise MaxSize or lower the runner's max_instances", e.Name, e.Desired, e.MaxSize)
}

// Increase raises desired capacity by up to n, clamped to MaxSize. It
// builds on the freshest known desired capacity, including the plugin's own
// changes a describe does not show yet, so pending launches are never
// counted twice. Requested < n (with a nil error) means MaxSize cut it.
func (g *Group) Increase(ctx context.Context, n int) (IncreaseResult, error) {
	if n <= 0 {
		return IncreaseResult{}, nil
	}
	g.opMu.Lock()
	defer g.opMu.Unlock()

	snap, err := g.latestOrRefresh(ctx)
	if err != nil {
		return IncreaseResult{}, err
	}
	res, err := g.setDesired(ctx, snap, n)
	if err != nil && isValidationError(err) {
		// Typically MaxSize was lowered since the snapshot: look again and
		// retry once with the fresh limits.
		fresh, _, rerr := g.refreshLocked(ctx)
		if rerr != nil {
			return IncreaseResult{}, err
		}
		res, err = g.setDesired(ctx, fresh, n)
	}
	if err != nil && mayHaveApplied(err) {
		res, err = g.confirmApplied(ctx, res, n, err)
	}
	return res, err
}

// mayHaveApplied: the request may have reached AWS and taken effect although
// no answer came (a timeout, a reset connection, a server fault). A client
// error (validation, throttling, access) means it was not applied.
func mayHaveApplied(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorFault() == smithy.FaultServer
	}
	return true
}

// confirmApplied looks at the group after an ambiguous SetDesiredCapacity
// failure: if AWS did raise desired capacity, the instances are coming and
// Increase must say so, or fleeting asks again and gets them twice.
func (g *Group) confirmApplied(ctx context.Context, res IncreaseResult, n int, callErr error) (IncreaseResult, error) {
	k := min(n, res.MaxSize-res.From)
	fresh, _, err := g.refreshLocked(ctx)
	if err != nil || k <= 0 || fresh.Desired != res.From+k {
		return res, callErr
	}
	g.ownChange(res.From + k)
	res.Requested, res.Desired = k, res.From+k
	return res, nil
}

// setDesired runs with opMu held.
func (g *Group) setDesired(ctx context.Context, snap *Snapshot, n int) (IncreaseResult, error) {
	from := g.base(snap)
	k := min(n, snap.MaxSize-from)
	res := IncreaseResult{From: from, Desired: from, MaxSize: snap.MaxSize}
	if k <= 0 {
		return res, &AtMaxSizeError{Name: g.name, Desired: from, MaxSize: snap.MaxSize}
	}
	_, err := g.clients.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.name),
		DesiredCapacity:      aws.Int32(int32(from + k)),
		HonorCooldown:        aws.Bool(false),
	})
	if err != nil {
		return res, explain("autoscaling:SetDesiredCapacity", err)
	}
	g.ownChange(from + k)
	res.Requested, res.Desired = k, from+k
	return res, nil
}
