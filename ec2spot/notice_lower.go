package ec2spot

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// A spot instance under an interruption notice is reported deleting, so
// the runner asks for its replacement at once (Increase: desired + 1). But
// desired capacity still counts the doomed instance, and AWS reclaims it
// without a decrement: the group would then launch a second replacement
// nobody asked for, which the runner later removes unused. So when a notice
// is first seen, the plugin lowers desired capacity by one for the
// instance, once, as its own change; the instance joins `decremented`, so
// a later Decrease of it terminates without a decrement (or, once AWS is
// terminating it, does nothing) and Increase no longer counts it.
//
// Lowering desired capacity below the members still in service makes the
// group try to scale in. That is safe only when scale-in protection stops
// it from picking a victim: every member filling capacity, the doomed one
// included (else the group would end its running job before AWS's two
// minutes), must be protected. Otherwise nothing is lowered, and the
// reason is logged.
//
// A rebalance recommendation lowers nothing: AWS has not decided to take
// the instance, and the runner removes a drained instance itself, with a
// decrement.
//
// A restart forgets `decremented`. A notice already there when this
// process started (in its first complete spot answer, or dated before the
// process by AWS) may have been lowered for by the previous process, and
// desired capacity cannot tell: a launch still outstanding looks the same.
// So it is assumed lowered for: nothing is lowered, and the instance joins
// `decremented`. Wrong, that costs one spare instance when AWS takes it;
// the other way round, lowering twice, would cancel a launch the runner
// asked for and never gets.

// NoticeLowering is what LowerForNotices did.
type NoticeLowering struct {
	// Lowered: desired capacity was lowered by one for each (From → To).
	Lowered  []string
	From, To int
	// Accounted: desired capacity did not count them any more (lowered
	// earlier, or an answer lost and not confirmed); nothing sent.
	Accounted []string
	// Assumed: noticed before this process started, assumed lowered for
	// by the previous one; nothing sent.
	Assumed []string
	// Skipped: not lowered, for Reason; not retried.
	Skipped []string
	Reason  error
}

// Done lists every id settled either way (not to be asked about again).
func (r NoticeLowering) Done() []string {
	return append(append(append(append([]string(nil), r.Lowered...), r.Accounted...), r.Assumed...), r.Skipped...)
}

// errUnprotected: the group could pick a busy victim.
var errUnprotected = errors.New("not every member filling capacity is protected from scale in, so the group could pick another (busy) instance to scale in; desired capacity is left alone and the group will launch a replacement when AWS takes the instance (turn on NewInstancesProtectedFromScaleIn and protect the existing instances)")

// errAtMinSize: desired capacity is at the group's MinSize.
var errAtMinSize = errors.New("desired capacity is at the group's MinSize; it is left alone")

// LowerForNotices lowers desired capacity by one for each id (members
// under a spot interruption notice that still fill capacity; unsure: the
// notice may predate this process), with one SetDesiredCapacity for all
// of them and a describe only when a scaling call ran since the last one.
// An ambiguous failure is confirmed by describing, never resent. An error
// means nothing was lowered: the ids not in r.Done() may be tried again.
func (g *Group) LowerForNotices(ctx context.Context, ids []string, unsure map[string]bool) (NoticeLowering, error) {
	var r NoticeLowering
	if len(ids) == 0 {
		return r, nil
	}
	g.opMu.Lock()
	defer g.opMu.Unlock()
	snap := g.Latest()
	if snap == nil || g.opsSinceRefresh > 0 {
		// Increase or Decrease moved desired capacity since: build on what
		// the group shows now (drift is adopted, as in an Update).
		var err error
		if snap, _, err = g.refreshLocked(ctx); err != nil {
			return r, err
		}
		g.opsSinceRefresh = 0
	}

	g.mu.Lock()
	var cand []string
	for _, id := range ids {
		inst, ok := snap.Instance(id)
		if _, ours := g.terminating[id]; !ok || ours || g.decremented[id] || !inst.Phase.CountsTowardDesired() {
			// Gone, terminating, or already accounted for: nothing to do.
			r.Accounted = append(r.Accounted, id)
			continue
		}
		if unsure[id] {
			r.Assumed = append(r.Assumed, id)
			g.decremented[id] = true
			continue
		}
		cand = append(cand, id)
	}
	if len(cand) == 0 {
		g.mu.Unlock()
		return r, nil
	}
	for _, i := range snap.Instances {
		if _, ours := g.terminating[i.ID]; i.Phase.CountsTowardDesired() && !ours && !i.Protected {
			g.mu.Unlock()
			r.Skipped, r.Reason = cand, fmt.Errorf("%w (unprotected: %s)", errUnprotected, i.ID)
			return r, nil
		}
	}
	filling := g.fillingLocked(snap) // cand included
	from := g.expected
	// Never below the members that keep filling capacity: desired capacity
	// already leaves out any excess (an earlier lowering for them).
	counted := min(len(cand), max(from-(filling-len(cand)), 0))
	k := min(counted, max(from-snap.MinSize, 0))
	r.Lowered = cand[:k]
	if k < counted {
		r.Skipped, r.Reason = append(r.Skipped, cand[k:counted]...), errAtMinSize
	}
	for _, id := range cand[counted:] {
		g.decremented[id] = true
		r.Accounted = append(r.Accounted, id)
	}
	for _, id := range r.Lowered {
		g.decremented[id] = true
	}
	g.mu.Unlock()
	if k == 0 {
		return r, nil
	}

	r.From, r.To = from, from-k
	_, err := g.clients.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.name),
		DesiredCapacity:      aws.Int32(int32(r.To)),
		HonorCooldown:        aws.Bool(false),
	})
	if err != nil && ambiguous(err) {
		again, derr := g.observeLocked(ctx)
		switch {
		case derr == nil && again.Desired == r.To:
			err = nil
		case derr != nil:
			// It may have taken effect: never send it again. Should it not
			// have, the group replaces the instance (a spare, as before);
			// sending it twice could drop a launch the runner asked for.
			r.Accounted, r.Lowered = append(r.Accounted, r.Lowered...), nil
			return r, nil
		}
	}
	if err != nil {
		g.mu.Lock()
		for _, id := range r.Lowered {
			delete(g.decremented, id)
		}
		g.mu.Unlock()
		r.Lowered = nil
		return r, explain("autoscaling:SetDesiredCapacity", err)
	}
	g.ownChange(r.To)
	return r, nil
}

// lowerForNotices lowers desired capacity for the members of snap under a
// spot interruption notice not settled yet: all of one Update's in one
// call. Failures are logged; a failed lowering is tried again at the next
// Update while the instance still fills capacity.
func (s *Spot) lowerForNotices(ctx context.Context, snap *Snapshot) {
	var ids []string
	unsure := map[string]bool{}
	s.mu.Lock()
	for _, inst := range snap.Instances {
		is := s.signals[inst.ID]
		if is == nil || s.noticeSettled[inst.ID] || !inst.Phase.CountsTowardDesired() {
			continue
		}
		if sig, ok := is.byKind[SignalInterruption]; ok {
			ids = append(ids, inst.ID)
			unsure[inst.ID] = s.firstAnswerAt.IsZero() || !sig.SeenAt.After(s.firstAnswerAt) ||
				(!sig.NoticeTime.IsZero() && sig.NoticeTime.Before(s.startedAt))
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	r, err := s.group.LowerForNotices(ctx, ids, unsure)
	s.mu.Lock()
	for _, id := range r.Done() {
		s.noticeSettled[id] = true
	}
	s.mu.Unlock()
	if err != nil {
		s.noticeErrors.log(s.log, s.now(), "lowering desired capacity for spot instances under an interruption notice failed; tried again at the next update (else the group replaces them when AWS takes them, and the runner removes the spare)", err)
	}
	if len(r.Lowered) > 0 {
		s.noticeErrors.reset()
		s.log.Info("lowered desired capacity for spot instances under an interruption notice, so the group does not replace them when AWS takes them: the runner asks for their replacements itself",
			"instances", r.Lowered, "from", r.From, "to", r.To)
	}
	if len(r.Assumed) > 0 {
		s.log.Info("spot instances under an interruption notice from before this plugin process: assuming the previous process lowered desired capacity for them (if it did not, the group launches a spare when AWS takes them)", "instances", r.Assumed)
	}
	if len(r.Accounted) > 0 {
		s.log.Debug("desired capacity already leaves out these spot instances under an interruption notice", "instances", r.Accounted)
	}
	if len(r.Skipped) > 0 {
		s.noticeSkips.log(s.log, s.now(), "not lowering desired capacity for spot instances under an interruption notice", r.Reason)
		s.log.Debug("spot instances under an interruption notice left counted in desired capacity", "instances", r.Skipped, "reason", r.Reason)
	}
}
