package ec2spot

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// A spot request check answers "is AWS taking this instance?" for
// ConnectInfo and Heartbeat when the last answer is older than CheckMaxAge:
// without an interruption queue a notice would otherwise wait for the next
// Update's poll, which fleeting runs once a minute when idle. One
// DescribeSpotInstanceRequests filtered on instance ids covers the asking
// instance and the group's other members that can be spot, so concurrent
// callers share one call, and an answer covering every member counts as
// the Update's poll.

// maxCheckIDs bounds the instance-id filter of one check, keeping the
// request small; the asking instance always comes first.
const maxCheckIDs = 100

// checkTimeout bounds one shared check (SDK retries included): an answer
// that slow is no fresher than the last one, which then stands. Each caller
// waits at most as long as its own context allows.
const checkTimeout = 10 * time.Second

// spotCheck is one DescribeSpotInstanceRequests of a check.
type spotCheck struct {
	start time.Time
	ids   map[string]bool
	done  chan struct{}
	err   error
}

func (c *spotCheck) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// FreshVerdict is Verdict with an answer no older than CheckMaxAge: it
// checks the instance's spot request when the last answer is older, joining
// a check already under way that covers it. Instances known on-demand and
// instances already known doomed cost no call. When the check fails it
// logs, and the last known verdict stands.
func (s *Spot) FreshVerdict(ctx context.Context, id string) Verdict {
	if s == nil {
		return Verdict{}
	}
	if c := s.checkFor(ctx, id); c != nil {
		select {
		case <-c.done:
			if c.err != nil {
				s.checkErrors.log(s.log, s.now(), "checking an instance's spot request failed; trusting the last known spot status", c.err)
			} else {
				s.checkErrors.reset()
			}
		case <-ctx.Done():
		}
	}
	return s.Verdict(id)
}

// Prefetch starts the check a FreshVerdict of id would wait for, without
// waiting, so the call runs beside other work.
func (s *Spot) Prefetch(ctx context.Context, id string) {
	if s != nil {
		s.checkFor(ctx, id)
	}
}

// checkFor returns the check to wait for, nil when the answer is fresh
// enough or none is needed.
func (s *Spot) checkFor(ctx context.Context, id string) *spotCheck {
	if s.marketOf(id) == marketOnDemand {
		return nil
	}
	snap := s.group.Latest()

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.doomedLocked(id) {
		return nil // nothing a check could add
	}
	last := s.polledAt
	if at := s.checkedAt[id]; at.After(last) {
		last = at
	}
	if !last.IsZero() && now.Sub(last) <= s.checkMaxAge {
		return nil
	}
	if c := s.check; c != nil && c.ids[id] && !c.finished() && now.Sub(c.start) <= s.checkMaxAge {
		return c
	}
	ids, all := s.checkIDsLocked(snap, id)
	c := &spotCheck{start: now, ids: make(map[string]bool, len(ids)), done: make(chan struct{})}
	for _, i := range ids {
		c.ids[i] = true
	}
	s.check = c
	// Apart from the first caller: the others wait on the same call, each
	// bounded by its own context.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	go func() {
		defer cancel()
		defer close(c.done)
		reqs, err := s.describeSpotRequests(cctx, []types.Filter{{Name: aws.String("instance-id"), Values: ids}})
		c.err = err
		if err == nil {
			s.applyCheck(c, reqs, all)
		}
	}()
	return c
}

// checkIDsLocked lists the instances a check asks about: id, then the
// snapshot's members that fill capacity and are not known on-demand or
// doomed, up to maxCheckIDs. all is false when members were left out.
func (s *Spot) checkIDsLocked(snap *Snapshot, id string) (ids []string, all bool) {
	ids = []string{id}
	if snap == nil {
		return ids, false
	}
	for _, inst := range snap.Instances {
		if inst.ID == id || !inst.Phase.CountsTowardDesired() || s.market[inst.ID] == marketOnDemand || s.doomedLocked(inst.ID) {
			continue
		}
		if len(ids) == maxCheckIDs {
			return ids, false
		}
		ids = append(ids, inst.ID)
	}
	return ids, true
}

// applyCheck records what a check found: notices, markets (a member in
// service without a spot request is on-demand) and the time of the ask.
func (s *Spot) applyCheck(c *spotCheck, reqs []polledRequest, all bool) {
	snap := s.group.Latest()
	found := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		if !c.ids[r.id] {
			continue
		}
		found[r.id] = true
		s.setMarket(r.id, marketSpot)
		if r.ok && !s.group.terminationRequested(r.id) {
			s.record(r.id, r.sig)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range c.ids {
		if c.start.After(s.checkedAt[id]) {
			s.checkedAt[id] = c.start
		}
		if found[id] || s.market[id] != "" || snap == nil {
			continue
		}
		if inst, ok := snap.Instance(id); ok && inst.Phase == PhaseInService {
			s.market[id] = marketOnDemand
		}
	}
	if all && c.start.After(s.polledAt) {
		s.polledAt = c.start
	}
	if all && s.firstAnswerAt.IsZero() {
		s.firstAnswerAt = s.now()
	}
}

// marketOf is the known market of id: from the spot request polls, else
// from cached EC2 details; "" when unknown.
func (s *Spot) marketOf(id string) string {
	s.mu.Lock()
	m := s.market[id]
	s.mu.Unlock()
	if m != "" {
		return m
	}
	switch s.group.knownMarket(id) {
	case marketSpot:
		return marketSpot
	case "":
		return ""
	default:
		return marketOnDemand
	}
}

// doomedLocked reports whether a signal says AWS is taking id.
func (s *Spot) doomedLocked(id string) bool {
	is := s.signals[id]
	if is == nil {
		return false
	}
	for k := range is.byKind {
		if k != SignalRebalance {
			return true
		}
	}
	return false
}
