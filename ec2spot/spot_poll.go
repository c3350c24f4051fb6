package ec2spot

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// spotFilterChunk bounds the instance-id values of one filter.
const spotFilterChunk = 200

// pollSpotRequests is the per-Update interruption check: one
// DescribeSpotInstanceRequests (per 200 instances) filtered by the ids of
// the members that are spot or not yet known to be on-demand. A member in
// service without a spot request is on-demand and is not asked about again.
func (s *Spot) pollSpotRequests(ctx context.Context, snap *Snapshot) error {
	var ids []string
	s.mu.Lock()
	for _, inst := range snap.Instances {
		if !watchPhase(inst.Phase) || s.market[inst.ID] == marketOnDemand {
			continue
		}
		ids = append(ids, inst.ID)
	}
	s.mu.Unlock()
	for n, id := range ids {
		if m := s.group.knownMarket(id); m != "" && m != marketSpot {
			s.setMarket(id, marketOnDemand)
			ids[n] = ""
		}
	}
	ids = dedupe(ids)

	found := map[string]bool{}
	for start := 0; start < len(ids); start += spotFilterChunk {
		chunk := ids[start:min(start+spotFilterChunk, len(ids))]
		p := ec2.NewDescribeSpotInstanceRequestsPaginator(s.clients.EC2, &ec2.DescribeSpotInstanceRequestsInput{
			Filters:    []types.Filter{{Name: aws.String("instance-id"), Values: chunk}},
			MaxResults: aws.Int32(1000),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return explain("ec2:DescribeSpotInstanceRequests", err)
			}
			for _, r := range page.SpotInstanceRequests {
				id := aws.ToString(r.InstanceId)
				if id == "" {
					continue
				}
				found[id] = true
				s.setMarket(id, marketSpot)
				if sig, ok := spotRequestSignal(r); ok && !s.group.terminationRequested(id) {
					s.record(id, sig)
				}
			}
		}
	}
	for _, id := range ids {
		if inst, _ := snap.Instance(id); !found[id] && inst.Phase == PhaseInService {
			s.setMarket(id, marketOnDemand)
		}
	}
	return nil
}

const (
	marketSpot     = "spot"
	marketOnDemand = "on-demand"
)

// watchPhase: members that can still be handed out (and so need watching).
func watchPhase(p Phase) bool {
	switch p {
	case PhaseLaunching, PhaseInService, PhaseQuarantined, PhaseReplacingRootVolume, PhaseUnknown:
		return true
	case PhaseTerminating, PhaseRetained, PhaseTerminated, PhaseStandby, PhaseDetaching, PhaseWarmPool:
		return false
	default:
		return false
	}
}

func (s *Spot) setMarket(id, m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.market[id] = m
}

// spotRequestSignal reads an interruption from a spot request's status:
// marked-for-* while the instance still runs, instance-terminated-* and
// instance-stopped-* once AWS took it.
func spotRequestSignal(r types.SpotInstanceRequest) (Signal, bool) {
	if r.Status == nil {
		return Signal{}, false
	}
	code := aws.ToString(r.Status.Code)
	if !strings.HasPrefix(code, "marked-for-") && !strings.HasPrefix(code, "instance-terminated-") &&
		!strings.HasPrefix(code, "instance-stopped-") {
		return Signal{}, false
	}
	return Signal{Kind: SignalInterruption, Source: SourceSpotRequest, Detail: code, NoticeTime: aws.ToTime(r.Status.UpdateTime)}, true
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
