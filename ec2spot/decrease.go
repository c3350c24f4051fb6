package ec2spot

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// DecreaseStatus is what Decrease did with one id.
type DecreaseStatus int

const (
	// DecreaseRequested: termination (with decrement) was requested now.
	DecreaseRequested DecreaseStatus = iota
	// DecreaseAlreadyTerminating: the group is already terminating it.
	DecreaseAlreadyTerminating
	// DecreaseAlreadyGone: it was in the group and has left it.
	DecreaseAlreadyGone
	// DecreaseRefusedForeign: never seen in the group; not touched.
	DecreaseRefusedForeign
	// DecreaseRefusedOperator: in standby or detaching, i.e. taken over by
	// an operator; not touched.
	DecreaseRefusedOperator
	// DecreaseRefusedWarmPool: a warm-pool instance; not touched.
	DecreaseRefusedWarmPool
	// DecreaseFailed: the terminate call failed (Err).
	DecreaseFailed
)

// Done reports whether the id counts as successfully removed.
func (s DecreaseStatus) Done() bool {
	switch s {
	case DecreaseRequested, DecreaseAlreadyTerminating, DecreaseAlreadyGone:
		return true
	case DecreaseRefusedForeign, DecreaseRefusedOperator, DecreaseRefusedWarmPool, DecreaseFailed:
		return false
	default:
		return false
	}
}

func (s DecreaseStatus) String() string {
	switch s {
	case DecreaseRequested:
		return "termination requested"
	case DecreaseAlreadyTerminating:
		return "already terminating"
	case DecreaseAlreadyGone:
		return "already gone from the group"
	case DecreaseRefusedForeign:
		return "refused: not a member of the group"
	case DecreaseRefusedOperator:
		return "refused: in standby or detaching (taken over by an operator)"
	case DecreaseRefusedWarmPool:
		return "refused: warm-pool instance"
	case DecreaseFailed:
		return "terminate failed"
	default:
		return "invalid"
	}
}

// DecreaseOutcome is the result for one id.
type DecreaseOutcome struct {
	ID     string
	Status DecreaseStatus
	Err    error // with DecreaseFailed
}

// Decrease terminates the given members with a desired-capacity decrement,
// at most TerminateConcurrency at a time, carrying on past failures. Ids
// that do not belong to the group are never touched. Outcomes follow the
// order of ids, duplicates removed.
func (g *Group) Decrease(ctx context.Context, ids []string) ([]DecreaseOutcome, error) {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	g.opMu.Lock()
	defer g.opMu.Unlock()

	snap, err := g.latestOrRefresh(ctx)
	if err != nil {
		return nil, err
	}
	// An id the snapshot does not know may have launched since: look once more.
	for _, id := range ids {
		if _, ok := snap.Instance(id); !ok && !g.wasMember(id) {
			if snap, _, err = g.refreshLocked(ctx); err != nil {
				return nil, err
			}
			break
		}
	}

	out := make([]DecreaseOutcome, len(ids))
	var terminate []int
	for n, id := range ids {
		st := classifyForDecrease(snap, id, g.wasMember(id))
		if st == DecreaseRequested && g.terminationRequested(id) {
			st = DecreaseAlreadyTerminating
		}
		out[n] = DecreaseOutcome{ID: id, Status: st}
		if out[n].Status == DecreaseRequested {
			terminate = append(terminate, n)
		}
	}

	g.terminateAll(ctx, snap, out, terminate)

	// Auto Scaling answers ValidationError when the instance is already
	// terminating or gone; confirm from the group's state, not the message.
	var unsure []int
	for _, n := range terminate {
		if out[n].Status == DecreaseFailed && isValidationError(out[n].Err) {
			unsure = append(unsure, n)
		}
	}
	if len(unsure) > 0 {
		if fresh, _, rerr := g.refreshLocked(ctx); rerr == nil {
			for _, n := range unsure {
				switch st := classifyForDecrease(fresh, out[n].ID, true); st {
				case DecreaseAlreadyTerminating, DecreaseAlreadyGone:
					out[n] = DecreaseOutcome{ID: out[n].ID, Status: st}
				case DecreaseRequested, DecreaseRefusedForeign, DecreaseRefusedOperator, DecreaseRefusedWarmPool, DecreaseFailed:
					// Still a live member: the failure stands.
				}
			}
		}
	}
	return out, nil
}

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
		if inst, _ := snap.Instance(out[n].ID); inst.Phase == PhaseRetained {
			without = append(without, n)
		} else {
			withDecrement = append(withDecrement, n)
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

	sem := make(chan struct{}, g.terminateConcurrency)
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g.terminateBatch(ctx, out, b)
		}()
	}
	wg.Wait()
}

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
// retried one id per call; other failures (throttling, network) fail the
// batch, which fleeting asks for again.
func (g *Group) terminateBatch(ctx context.Context, out []DecreaseOutcome, b terminateBatch) {
	if len(b.idx) == 1 {
		g.terminateOne(ctx, out, b.idx[0], b.decrement)
		return
	}
	ids := make([]string, len(b.idx))
	for k, n := range b.idx {
		ids[k] = out[n].ID
	}
	_, err := g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		AutoScalingGroupName:           aws.String(g.name),
		InstanceIds:                    ids,
		ShouldDecrementDesiredCapacity: aws.Bool(b.decrement),
	})
	switch {
	case err == nil:
		for _, id := range ids {
			g.terminated(id, b.decrement)
		}
	case isValidationError(err):
		for _, n := range b.idx {
			g.terminateOne(ctx, out, n, b.decrement)
		}
	default:
		err = explain("autoscaling:TerminateInstanceInAutoScalingGroup", err)
		for _, n := range b.idx {
			out[n].Status, out[n].Err = DecreaseFailed, err
		}
	}
}

func (g *Group) terminateOne(ctx context.Context, out []DecreaseOutcome, n int, decrement bool) {
	// The batch form names the group, so AWS refuses an instance that moved
	// to another group since the snapshot instead of terminating it there.
	_, err := g.clients.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		AutoScalingGroupName:           aws.String(g.name),
		InstanceIds:                    []string{out[n].ID},
		ShouldDecrementDesiredCapacity: aws.Bool(decrement),
	})
	if err != nil {
		out[n].Status = DecreaseFailed
		out[n].Err = explain("autoscaling:TerminateInstanceInAutoScalingGroup", err)
		return
	}
	g.terminated(out[n].ID, decrement)
}

// terminated records one successful terminate call.
func (g *Group) terminated(id string, decrement bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.terminating[id] = true
	if decrement {
		g.expected = max(0, g.expected-1)
		g.pendingSince = g.now()
	}
}

func classifyForDecrease(snap *Snapshot, id string, wasMember bool) DecreaseStatus {
	inst, ok := snap.Instance(id)
	if !ok {
		if wasMember {
			return DecreaseAlreadyGone
		}
		return DecreaseRefusedForeign
	}
	switch inst.Phase {
	case PhaseTerminating, PhaseTerminated:
		return DecreaseAlreadyTerminating
	case PhaseStandby, PhaseDetaching:
		return DecreaseRefusedOperator
	case PhaseWarmPool:
		return DecreaseRefusedWarmPool
	case PhaseLaunching, PhaseInService, PhaseQuarantined, PhaseRetained, PhaseReplacingRootVolume, PhaseUnknown:
		return DecreaseRequested
	default:
		return DecreaseRequested
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
