package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
)

// How TerminateInstanceInAutoScalingGroup is called (Group.form). The
// batch form (InstanceIds with AutoScalingGroupName) is a 2026 addition:
// an older region or partition, or a compatible endpoint, rejects it. The
// first terminate call of the process tells which form works.
const (
	formUnknown int32 = iota
	formBatch         // InstanceIds + AutoScalingGroupName
	formSingle        // InstanceId only; it cannot name the group
)

// terminateAll runs the terminate calls for out[idx], bounded in parallel,
// and records each result in place. Up to TerminateConcurrency ids go one
// per call; beyond that they are batched, so a large scale-down costs about
// TerminateConcurrency calls of the account's shared Auto Scaling budget
// instead of one per instance.
func (g *Group) terminateAll(ctx context.Context, snap *Snapshot, out []DecreaseOutcome, idx []int) {
	// A retained instance no longer fills desired capacity: decrementing
	// for it would shrink the group below what the plugin asked for.
	var withDecrement, without []int
	for _, n := range idx {
		if g.decrementFor(snap, out[n].ID) {
			withDecrement = append(withDecrement, n)
		} else {
			without = append(without, n)
		}
	}
	size := batchSize(len(idx), g.terminateConcurrency)
	var batches []terminateBatch
	for _, part := range []struct {
		idx       []int
		decrement bool
	}{{withDecrement, true}, {without, false}} {
		for start := 0; start < len(part.idx); start += size {
			batches = append(batches, terminateBatch{idx: part.idx[start:min(start+size, len(part.idx))], decrement: part.decrement})
		}
	}
	if len(batches) == 0 {
		return
	}

	if g.form.Load() == formUnknown {
		// The first call shows whether the endpoint has the batch form;
		// the rest wait for the answer rather than all failing alike.
		first := batches[0]
		batches = batches[1:]
		g.terminateBatch(ctx, snap, out, first)
		if err := out[first.idx[0]].Err; g.form.Load() == formUnknown && err != nil && unavailable(err) {
			// AWS is failing (or unreachable): the rest would only spend
			// calls and retries on the same failure. Fleeting asks again.
			notSent := fmt.Errorf("%w (AWS failed this Decrease's first terminate call): %w", errNotSent, err)
			for _, b := range batches {
				for _, n := range b.idx {
					out[n].Status, out[n].Err = DecreaseFailed, notSent
				}
			}
			return
		}
	}

	sem := make(chan struct{}, g.terminateConcurrency)
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g.terminateBatch(ctx, snap, out, b)
		}()
	}
	wg.Wait()
}

// errNotSent marks ids a Decrease did not send to AWS at all.
var errNotSent = errors.New("terminate not sent")

// maxTerminateBatch is Auto Scaling's limit of InstanceIds per call.
const maxTerminateBatch = 100

// batchSize spreads n ids over at most concurrency calls of up to
// maxTerminateBatch ids each.
func batchSize(n, concurrency int) int {
	return min(max((n+concurrency-1)/concurrency, 1), maxTerminateBatch)
}

type terminateBatch struct {
	idx       []int
	decrement bool
}

// terminateBatch terminates one batch. Auto Scaling rejects a whole batch
// when one id is invalid (typically already gone), so a rejected batch is
// retried one id per call; an endpoint without the batch form is detected
// and answered with the single form; other failures (throttling, network)
// fail the batch, which fleeting asks for again.
func (g *Group) terminateBatch(ctx context.Context, snap *Snapshot, out []DecreaseOutcome, b terminateBatch) {
	if g.form.Load() == formSingle {
		for _, n := range b.idx {
			g.terminateSingle(ctx, snap, out, n, b.decrement)
		}
		return
	}
	ids := make([]string, len(b.idx))
	for k, n := range b.idx {
		ids[k] = out[n].ID
	}
	// The batch form names the group, so AWS refuses an instance that moved
	// to another group since the snapshot instead of terminating it there.
	resp, err := g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		AutoScalingGroupName:           aws.String(g.name),
		InstanceIds:                    ids,
		ShouldDecrementDesiredCapacity: aws.Bool(b.decrement),
	})
	switch {
	case err == nil:
		g.form.CompareAndSwap(formUnknown, formBatch)
		for _, n := range b.idx {
			g.accepted(out, n, b.decrement, activitiesOf(resp))
		}
		return
	case g.form.Load() == formUnknown && batchFormRejected(err, ids):
		if g.probeSingleForm(ctx, snap, out, b) {
			return
		}
	case isValidationError(err) && len(b.idx) > 1:
		for _, n := range b.idx {
			g.terminateBatch(ctx, snap, out, terminateBatch{idx: []int{n}, decrement: b.decrement})
		}
		return
	}
	err = explain("autoscaling:TerminateInstanceInAutoScalingGroup", err)
	for _, n := range b.idx {
		out[n].Status, out[n].Err = DecreaseFailed, err
	}
}

// batchFormRejected: the failure of a batch-form call looks like an
// endpoint that lacks the form: a server fault (after the SDK's retries),
// or a ValidationError of a one-id batch that does not name that id (AWS
// names the instance when it is the id that is wrong; an endpoint that
// ignores InstanceIds complains that instanceId is null).
func batchFormRejected(err error, ids []string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false // no answer at all says nothing about the form
	}
	if serverError(err) {
		return true
	}
	switch apiErr.ErrorCode() {
	case "ValidationError", "InvalidParameterValue", "InvalidParameterCombination", "MissingParameter", "UnknownParameter":
	default:
		return false
	}
	if len(ids) != 1 {
		return false // split first: one id per call tells which one is wrong
	}
	return !strings.Contains(apiErr.ErrorMessage(), ids[0])
}

// probeSingleForm tries the single form after the batch form failed in a
// way that suggests the endpoint lacks it. The single form working where
// the batch form failed settles it for the process; both failing means AWS
// is failing, and the batch's failure stands (false). Should a server
// fault have hidden a batch that took effect, the single calls find the
// instances already terminating: AWS neither terminates nor decrements
// twice, and the plugin counts each decrement once.
func (g *Group) probeSingleForm(ctx context.Context, snap *Snapshot, out []DecreaseOutcome, b terminateBatch) bool {
	first := b.idx[0]
	if !g.terminateSingle(ctx, snap, out, first, b.decrement) {
		return false
	}
	g.form.Store(formSingle)
	for _, n := range b.idx[1:] {
		g.terminateSingle(ctx, snap, out, n, b.decrement)
	}
	return true
}

// terminateSingle terminates out[n] with the single form, which cannot
// name the group: only a member of the group in the snapshot is sent.
func (g *Group) terminateSingle(ctx context.Context, snap *Snapshot, out []DecreaseOutcome, n int, decrement bool) bool {
	id := out[n].ID
	if _, ok := snap.Instance(id); !ok {
		out[n].Status, out[n].Err = DecreaseRefusedForeign, nil
		return false
	}
	resp, err := g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId:                     aws.String(id),
		ShouldDecrementDesiredCapacity: aws.Bool(decrement),
	})
	if err != nil {
		out[n].Status = DecreaseFailed
		out[n].Err = explain("autoscaling:TerminateInstanceInAutoScalingGroup", err)
		return false
	}
	g.accepted(out, n, decrement, activitiesOf(resp))
	return true
}

// activitiesOf: the batch form answers Activities, the single form Activity.
func activitiesOf(resp *autoscaling.TerminateInstanceInAutoScalingGroupOutput) []types.Activity {
	if resp == nil {
		return nil
	}
	if resp.Activity != nil {
		return append([]types.Activity{*resp.Activity}, resp.Activities...)
	}
	return resp.Activities
}

// serverError: AWS answered with an HTTP 5xx (after the SDK's retries).
// Modelled faults such as ResourceContention count as server faults in the
// SDK but arrive as 4xx and say nothing about the endpoint.
func serverError(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// unavailable: AWS is failing or unreachable (a 5xx, or no answer at all).
func unavailable(err error) bool {
	var apiErr smithy.APIError
	return serverError(err) || !errors.As(err, &apiErr)
}

// SingleFormTerminate reports whether this process found the endpoint
// without the batch form of TerminateInstanceInAutoScalingGroup and
// terminates one instance per call.
func (g *Group) SingleFormTerminate() bool { return g.form.Load() == formSingle }

// ambiguous: a change may have taken effect although it failed: no answer,
// a server fault, or any HTTP 5xx (AWS's generic InternalFailure is not a
// modelled server fault).
func ambiguous(err error) bool { return mayHaveApplied(err) || serverError(err) }
