package ec2spot

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// interruptionCodes are the spot request status codes that mean AWS
// announced it takes the instance (marked-for-*) or took it after an
// interruption. The *-by-user codes are left out: every scale-in (the
// plugin's own and the group's) ends with them and AWS keeps closed requests
// for hours, so asking for them would grow the answer with churn; such
// terminations show in the lifecycle state and the queue.
var interruptionCodes = []string{
	"marked-for-termination", "marked-for-stop", "marked-for-hibernation",
	"instance-terminated-by-price", "instance-terminated-no-capacity",
	"instance-terminated-capacity-oversubscribed", "instance-terminated-launch-group-constraint",
	"instance-terminated-by-service", "instance-terminated-by-schedule", "instance-terminated-by-experiment",
	"instance-stopped-by-price", "instance-stopped-no-capacity",
}

var isInterruptionCode = func() map[string]bool {
	m := make(map[string]bool, len(interruptionCodes))
	for _, c := range interruptionCodes {
		m[c] = true
	}
	return m
}()

// learnEvery bounds the unfiltered poll that learns members' markets: it
// lists every spot request of the account and region, so it runs only when
// in-service members have an unknown market, and at most this often.
const learnEvery = 5 * time.Minute

// SpotPoll is one Update's spot request poll, started before the group is
// described: it needs no member list, so both calls run at once.
type SpotPoll struct {
	learn bool
	start time.Time
	done  chan struct{}
	reqs  []polledRequest
	err   error
}

// polledRequest is what the poll keeps of one spot request.
type polledRequest struct {
	id  string
	sig Signal
	ok  bool // sig is an interruption
}

// Wait waits for the poll to end, discarding its answer (the Update failed).
func (p *SpotPoll) Wait() {
	if p != nil {
		<-p.done
	}
}

// StartPoll starts this Update's DescribeSpotInstanceRequests, planned on
// the latest snapshot; nil when no member can be spot, or when the last
// answer covering every member is younger than PollInterval (ConnectInfo
// and Heartbeat check a stale answer themselves, FreshVerdict). Pass it to
// ObservePolled with the snapshot of the same Update.
func (s *Spot) StartPoll(ctx context.Context) *SpotPoll {
	if s == nil {
		return nil
	}
	return s.startPoll(ctx, s.group.Latest())
}

func (s *Spot) startPoll(ctx context.Context, prev *Snapshot) *SpotPoll {
	need, learn := s.pollPlan(prev)
	if !need || (!learn && !s.pollDue()) {
		return nil
	}
	p := &SpotPoll{learn: learn, start: s.now(), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var filters []types.Filter
		if !learn {
			filters = []types.Filter{{Name: aws.String("status-code"), Values: interruptionCodes}}
		}
		p.reqs, p.err = s.describeSpotRequests(ctx, filters)
	}()
	return p
}

// pollDue: the last answer covering every member is PollInterval old.
func (s *Spot) pollDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polledAt.IsZero() || s.now().Sub(s.polledAt) >= s.pollInterval
}

// pollPlan: need is false when every member that can be handed out is known
// on-demand (or there is none); learn asks for the unfiltered poll. Before
// the first snapshot nothing is known, so it learns.
func (s *Spot) pollPlan(prev *Snapshot) (need, learn bool) {
	if prev == nil {
		s.mu.Lock()
		s.learnedAt = s.now()
		s.mu.Unlock()
		return true, true
	}
	unknown := false
	for _, inst := range prev.Instances {
		// Members that fill capacity are the ones that can still be
		// handed out, and so need watching.
		if !inst.Phase.CountsTowardDesired() {
			continue
		}
		s.mu.Lock()
		m := s.market[inst.ID]
		s.mu.Unlock()
		if m == "" {
			// Cached EC2 details (after a ConnectInfo) settle it for free.
			if km := s.group.knownMarket(inst.ID); km == marketSpot {
				m = marketSpot
				s.setMarket(inst.ID, m)
			} else if km != "" {
				m = marketOnDemand
				s.setMarket(inst.ID, m)
			}
		}
		if m == marketOnDemand {
			continue
		}
		need = true
		if m == "" && inst.Phase == PhaseInService {
			unknown = true
		}
	}
	if !unknown {
		return need, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.learnedAt.IsZero() || s.now().Sub(s.learnedAt) >= learnEvery {
		s.learnedAt = s.now()
		return true, true
	}
	return true, false
}

// describeSpotRequests is one paginated DescribeSpotInstanceRequests: an
// Update's, filtered on the interruption status codes (an answer of the
// notices only, at any group size) or unfiltered to learn markets, or a
// check's, filtered on instance ids.
func (s *Spot) describeSpotRequests(ctx context.Context, filters []types.Filter) ([]polledRequest, error) {
	in := &ec2.DescribeSpotInstanceRequestsInput{MaxResults: aws.Int32(1000), Filters: filters}
	var out []polledRequest
	p := ec2.NewDescribeSpotInstanceRequestsPaginator(s.clients.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain("ec2:DescribeSpotInstanceRequests", err)
		}
		for _, r := range page.SpotInstanceRequests {
			id := aws.ToString(r.InstanceId)
			if id == "" {
				continue
			}
			sig, ok := spotRequestSignal(r)
			out = append(out, polledRequest{id: id, sig: sig, ok: ok})
		}
	}
	return out, nil
}

// applyPoll joins the poll with the snapshot of the same Update. Requests
// of instances outside the group are ignored: the answer covers the whole
// account and region.
func (s *Spot) applyPoll(snap *Snapshot, p *SpotPoll) error {
	<-p.done
	if p.err != nil {
		return p.err
	}
	// Both kinds cover every member: once applied, the verdicts are fresh
	// as of the ask.
	defer s.polledAsOf(p.start)
	var found map[string]bool
	if p.learn {
		found = make(map[string]bool, len(p.reqs))
	}
	for _, r := range p.reqs {
		if _, member := snap.Instance(r.id); !member {
			continue
		}
		if found != nil {
			found[r.id] = true
		}
		s.setMarket(r.id, marketSpot)
		if r.ok && !s.group.terminationRequested(r.id) {
			s.record(r.id, r.sig)
		}
	}
	if !p.learn {
		return nil
	}
	// A spot request precedes its instance, so a member in service without
	// one in the full answer is on-demand and is not asked about again.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range snap.Instances {
		if inst.Phase == PhaseInService && !found[inst.ID] && s.market[inst.ID] == "" {
			s.market[inst.ID] = marketOnDemand
		}
	}
	return nil
}

// polledAsOf records an answer covering every member, asked for at start.
func (s *Spot) polledAsOf(start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if start.After(s.polledAt) {
		s.polledAt = start
	}
	if s.firstAnswerAt.IsZero() {
		s.firstAnswerAt = s.now()
	}
}

const (
	marketSpot     = "spot"
	marketOnDemand = "on-demand"
)

func (s *Spot) setMarket(id, m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.market[id] = m
}

// spotRequestSignal reads an interruption from a spot request's status:
// marked-for-* while the instance still runs, instance-terminated-* and
// instance-stopped-* once AWS took it (interruptionCodes: the same codes
// whichever poll found the request). Any other instance-terminated-* or
// instance-stopped-* code (by-user: a scale-in, a health replacement, a
// terminate by hand) says the instance is going without an interruption:
// only an instance-filtered check or the learning poll asks for those, and
// they make the instance unhealthy the same.
func spotRequestSignal(r types.SpotInstanceRequest) (Signal, bool) {
	if r.Status == nil {
		return Signal{}, false
	}
	code := aws.ToString(r.Status.Code)
	switch {
	case isInterruptionCode[code]:
		return Signal{Kind: SignalInterruption, Source: SourceSpotRequest, Detail: code, NoticeTime: aws.ToTime(r.Status.UpdateTime)}, true
	case strings.HasPrefix(code, "instance-terminated-"), strings.HasPrefix(code, "instance-stopped-"):
		return Signal{Kind: SignalStopped, Source: SourceSpotRequest, Detail: code, NoticeTime: aws.ToTime(r.Status.UpdateTime)}, true
	}
	return Signal{}, false
}

// knownMarket is the market of an instance whose EC2 details are cached
// (after a ConnectInfo), "" otherwise. It never calls AWS.
func (g *Group) knownMarket(id string) string {
	g.details.mu.Lock()
	e := g.details.entries[id]
	g.details.mu.Unlock()
	if e == nil {
		return ""
	}
	select {
	case <-e.ready:
		if e.err == nil {
			return e.details.Market
		}
	default:
	}
	return ""
}
