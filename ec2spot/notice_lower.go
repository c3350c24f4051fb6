package ec2spot

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// A spot instance under an interruption notice is reported deleting, so
// the runner asks for its replacement at once (Increase: desired + 1). But
// the group counts every member in service, the doomed one included: with
// desired capacity only raised, it would launch that replacement at once
// and then, when AWS reclaims the doomed instance without a decrement, a
// second one nobody asked for. Lowering desired capacity by one instead
// (SetDesiredCapacity) keeps the count right but holds the runner's
// replacement back until AWS takes the instance: the group still counts
// the doomed member, so desired − 1 + 1 launches nothing, and the notice's
// two minutes are lost.
//
// So when a notice is first seen for a member in service, the plugin moves
// it to Standby with a decrement (EnterStandby): desired capacity drops by
// one and the group stops counting the instance in the same step, so the
// runner's replacement launches at once and AWS's reclaim launches
// nothing. A standby instance keeps running (its job continues until AWS
// takes it), the group neither health-checks nor scales it in, and it
// stays a member, so the plugin keeps reporting it deleting and a Decrease
// terminates it without a decrement. EnterStandby applies only to members
// in service: resending it after a lost answer changes nothing more, and a
// member still launching is moved once it is in service.
//
// A rebalance recommendation moves nothing: AWS has not decided to take
// the instance, and the runner removes a drained instance itself, with a
// decrement.
//
// A restart forgets `decremented`. A notice already there when this
// process started (in its first complete spot answer, or dated before the
// process by AWS) on a member still in service may have been lowered for
// by an earlier version of the plugin (SetDesiredCapacity), and desired
// capacity cannot tell: a launch still outstanding looks the same. So it
// is assumed lowered for: nothing is sent, and the instance joins
// `decremented`. Wrong, that costs one spare instance when AWS takes it;
// the other way round, lowering twice, would cancel a launch the runner
// asked for and never gets. A member already in Standby needs no guess.

// NoticeLowering is what LowerForNotices did.
type NoticeLowering struct {
	// Lowered: moved to Standby, desired capacity lowered by their
	// weight (From → To).
	Lowered  []string
	From, To int
	// Accounted: desired capacity did not count them any more (in
	// Standby, terminating, or gone); nothing sent.
	Accounted []string
	// Assumed: noticed before this process started, assumed lowered for
	// by the previous one; nothing sent.
	Assumed []string
	// Skipped: not moved, for Reason; not retried.
	Skipped []string
	Reason  error
}

// Done lists every id settled either way (not to be asked about again).
// A member still launching, or one whose move is unconfirmed, is not.
func (r NoticeLowering) Done() []string {
	return append(append(append(append([]string(nil), r.Lowered...), r.Accounted...), r.Assumed...), r.Skipped...)
}

// errAtMinSize: desired capacity is at the group's MinSize.
var errAtMinSize = errors.New("desired capacity is at the group's MinSize; it is left alone and the group will launch a replacement when AWS takes the instance")

// enterStandbyBatch is EnterStandby's limit of instances per call.
const enterStandbyBatch = 20

// LowerForNotices moves the members in service among ids (under a spot
// interruption notice; unsure: the notice may predate this process) to
// Standby with a decrement, in one EnterStandby per 20 of them, describing
// first only when a scaling call ran since the last describe. A lost
// answer is confirmed by describing; an unconfirmed one is left for the
// next Update, where the member shows in Standby or is sent again (safely:
// EnterStandby moves only members in service). An error means nothing
// more was moved: the ids not in r.Done() may be tried again.
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
	weight := 0
	room := max(g.expected-snap.MinSize, 0)
	for _, id := range ids {
		inst, ok := snap.Instance(id)
		_, ours := g.terminating[id]
		switch {
		case !ok || ours || g.decremented[id] || !inst.Phase.CountsTowardDesired():
			// Gone, terminating, in Standby or already accounted for.
			r.Accounted = append(r.Accounted, id)
			if ok && inst.Phase == PhaseStandby {
				g.decremented[id] = true
			}
		case unsure[id]:
			r.Assumed = append(r.Assumed, id)
			g.decremented[id] = true
		case inst.Phase != PhaseInService:
			// Still launching: moved once in service (not settled).
		case weight+inst.weight() > room:
			r.Skipped, r.Reason = append(r.Skipped, id), errAtMinSize
		default:
			cand = append(cand, id)
			weight += inst.weight()
		}
	}
	from := g.expected
	g.mu.Unlock()
	if len(cand) == 0 {
		return r, nil
	}

	var sent []string
	var err error
	g.opsSinceRefresh++ // a scaling call: the snapshot no longer tells
	for b := range slices.Chunk(cand, enterStandbyBatch) {
		_, err = g.clients.AutoScaling.EnterStandby(ctx, &autoscaling.EnterStandbyInput{
			AutoScalingGroupName:           aws.String(g.name),
			InstanceIds:                    b,
			ShouldDecrementDesiredCapacity: aws.Bool(true),
		})
		if err != nil {
			if ambiguous(err) {
				sent = append(sent, b...)
			}
			break
		}
		sent = append(sent, b...)
	}
	if err != nil && ambiguous(err) {
		// Confirm what took effect; whatever is not in Standby is sent
		// again at the next Update (after a fresh describe).
		if again, derr := g.observeLocked(ctx); derr == nil {
			var confirmed []string
			for _, id := range sent {
				if inst, ok := again.Instance(id); ok && inst.Phase == PhaseStandby {
					confirmed = append(confirmed, id)
				}
			}
			sent, err = confirmed, nil
		} else {
			sent = nil
		}
	}
	if len(sent) > 0 {
		g.mu.Lock()
		w := 0
		for _, id := range sent {
			g.decremented[id] = true
			inst, _ := snap.Instance(id)
			w += inst.weight()
		}
		g.mu.Unlock()
		r.Lowered, r.From, r.To = sent, from, max(from-w, 0)
		g.ownChange(r.To)
	}
	if err != nil {
		failed := cand[len(sent):]
		if IsAccessDenied(err) || isValidationError(err) {
			// Not retried: the same call would fail the same way.
			r.Skipped, r.Reason = append(r.Skipped, failed...), explain("autoscaling:EnterStandby", err)
			return r, nil
		}
		return r, explain("autoscaling:EnterStandby", err)
	}
	return r, nil
}

// lowerForNotices moves the members of snap under a spot interruption
// notice not settled yet to Standby with a decrement: all of one Update's
// in one call. Failures are logged; a failed move is tried again at the
// next Update while the instance is still in service.
func (s *Spot) lowerForNotices(ctx context.Context, snap *Snapshot) {
	var ids []string
	unsure := map[string]bool{}
	s.mu.Lock()
	for _, inst := range snap.Instances {
		is := s.signals[inst.ID]
		// A member in Standby is settled here once seen (after a restart:
		// the group learns it may terminate it).
		if is == nil || s.noticeSettled[inst.ID] || !inst.Phase.CountsTowardDesired() && inst.Phase != PhaseStandby {
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
		s.noticeErrors.log(s.log, s.now(), "moving spot instances under an interruption notice to standby failed; tried again at the next update (until then the runner's replacement waits for AWS to take them)", err)
	}
	if len(r.Lowered) > 0 {
		s.noticeErrors.reset()
		s.log.Info("moved spot instances under an interruption notice to standby, lowering desired capacity: their replacements launch at once and the group launches none when AWS takes them; their running jobs go on until then",
			"instances", r.Lowered, "from", r.From, "to", r.To)
	}
	if len(r.Assumed) > 0 {
		s.log.Info("spot instances under an interruption notice from before this plugin process: assuming the previous process lowered desired capacity for them (if it did not, the group launches a spare when AWS takes them)", "instances", r.Assumed)
	}
	if len(r.Accounted) > 0 {
		s.log.Debug("desired capacity already leaves out these spot instances under an interruption notice", "instances", r.Accounted)
	}
	if len(r.Skipped) > 0 {
		s.noticeSkips.log(s.log, s.now(), "not moving spot instances under an interruption notice to standby", r.Reason)
		s.log.Debug("spot instances under an interruption notice left counted in desired capacity", "instances", r.Skipped, "reason", r.Reason)
	}
}
