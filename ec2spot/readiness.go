package ec2spot

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ReadyWhen is when an InService member may be handed a job.
type ReadyWhen string

const (
	// ReadyRunning: as soon as the group has it InService.
	ReadyRunning ReadyWhen = "running"
	// ReadyStatusOK: once EC2's instance and system status checks pass.
	ReadyStatusOK ReadyWhen = "status-ok"
	// ReadyLifecycleHook: the group's launch lifecycle hook holds the
	// instance in Pending:Wait until its user data completes the hook, so
	// InService already means ready.
	ReadyLifecycleHook ReadyWhen = "lifecycle-hook"
)

// ReadyWhenValues are the accepted values, in documentation order.
var ReadyWhenValues = []ReadyWhen{ReadyRunning, ReadyStatusOK, ReadyLifecycleHook}

// statusBatch bounds the instance ids of one DescribeInstanceStatus filter.
const statusBatch = 100

// statusGate remembers which members passed their status checks, so each
// is checked only until it passes.
type statusGate struct {
	mu sync.Mutex
	// every bounds how often waiting members are checked; asked is when
	// they last were.
	every  time.Duration
	asked  time.Time
	passed map[string]bool
	// impaired: members seen with a failed check → reported by
	// NewlyImpaired yet.
	impaired map[string]bool
}

// NotReady returns the InService members that must not get a job yet:
// with ReadyStatusOK those whose status checks have not passed. It makes
// one DescribeInstanceStatus (per 100 such members) only while there are
// members it has not seen pass, at most every StatusCheckEvery, none
// otherwise and none in other modes. On an error the unconfirmed members
// stay not ready (the error says why).
func (g *Group) NotReady(ctx context.Context, snap *Snapshot) (map[string]bool, error) {
	if g.gate == nil {
		return nil, nil
	}
	pending := g.gate.pending(snap)
	if len(pending) == 0 {
		return nil, nil
	}
	notReady := make(map[string]bool, len(pending))
	for _, id := range pending {
		notReady[id] = true
	}
	if !g.gate.due(g.now()) {
		return notReady, nil
	}
	// The lock is not held across the calls: ConnectInfo reads the gate.
	for ids := range slices.Chunk(pending, statusBatch) {
		ok, impaired, err := describeStatus(ctx, g.clients.EC2, ids)
		if err != nil {
			return notReady, err
		}
		g.gate.mu.Lock()
		for _, id := range ok {
			g.gate.passed[id] = true
			delete(notReady, id)
		}
		for _, id := range impaired {
			if _, seen := g.gate.impaired[id]; !seen {
				g.gate.impaired[id] = false
			}
		}
		g.gate.mu.Unlock()
	}
	return notReady, nil
}

// pending forgets members that left and lists the in-service ones not
// seen to pass yet.
func (s *statusGate) pending(snap *Snapshot) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]bool{s.passed, s.impaired} {
		for id := range m {
			if _, ok := snap.Instance(id); !ok {
				delete(m, id) // left the group
			}
		}
	}
	var pending []string
	for _, i := range snap.Instances {
		if i.Phase == PhaseInService && !s.passed[i.ID] {
			pending = append(pending, i.ID)
		}
	}
	return pending
}

// due reports whether waiting members may be checked now, and if so
// takes the turn.
func (s *statusGate) due(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.asked.IsZero() && now.Sub(s.asked) < s.every {
		return false
	}
	s.asked = now
	return true
}

// waiting reports whether an in-service member of snap has not been seen
// to pass yet.
func (s *statusGate) waiting(snap *Snapshot) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range snap.Instances {
		if i.Phase == PhaseInService && !s.passed[i.ID] {
			return true
		}
	}
	return false
}

// NewlyImpaired lists, once each, the waiting members whose instance or
// system status check failed (impaired): they are never handed out, and
// the group's EC2 health check is what replaces them.
func (g *Group) NewlyImpaired() []string {
	if g.gate == nil {
		return nil
	}
	g.gate.mu.Lock()
	defer g.gate.mu.Unlock()
	var out []string
	for id, reported := range g.gate.impaired {
		if !reported {
			g.gate.impaired[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// NotReadyReason says why a member must not be connected to yet ("" when
// it may), from what the latest Update saw: no API call.
func (g *Group) NotReadyReason(id string) string {
	switch g.readyWhen {
	case ReadyStatusOK:
		g.gate.mu.Lock()
		defer g.gate.mu.Unlock()
		if !g.gate.passed[id] {
			return "its EC2 status checks have not passed yet (ready_when = \"status-ok\")"
		}
	case ReadyLifecycleHook:
		snap := g.Latest()
		if snap == nil {
			return ""
		}
		if i, ok := snap.Instance(id); ok && i.Phase == PhaseLaunching {
			return fmt.Sprintf("it is %s: its user data has not completed the launch lifecycle hook yet (ready_when = \"lifecycle-hook\")", i.LifecycleState)
		}
	}
	return ""
}

// describeStatus returns the ids whose instance and system status are
// both ok, and those with either impaired. It filters on instance-id rather than naming InstanceIds: an id
// EC2 does not know yet (eventual consistency after a launch) fails a call
// that names it, but only drops out of a filter.
func describeStatus(ctx context.Context, api EC2API, ids []string) (ok, impaired []string, err error) {
	p := ec2.NewDescribeInstanceStatusPaginator(api, &ec2.DescribeInstanceStatusInput{
		Filters:    []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids}},
		MaxResults: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, explain("ec2:DescribeInstanceStatus", err)
		}
		for _, s := range page.InstanceStatuses {
			id := aws.ToString(s.InstanceId)
			switch {
			case status(s.InstanceStatus) == ec2types.SummaryStatusOk && status(s.SystemStatus) == ec2types.SummaryStatusOk:
				ok = append(ok, id)
			case status(s.InstanceStatus) == ec2types.SummaryStatusImpaired || status(s.SystemStatus) == ec2types.SummaryStatusImpaired:
				impaired = append(impaired, id)
			}
		}
	}
	return ok, impaired, nil
}

func status(s *ec2types.InstanceStatusSummary) ec2types.SummaryStatus {
	if s == nil {
		return ""
	}
	return s.Status
}
