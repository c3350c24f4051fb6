package ec2spot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/hashicorp/go-hclog"
)

// Synchronous launches (launch_mode = "synchronous"): LaunchInstances, one
// availability zone per call (AWS accepts one), emptiest zone first, the
// rest of the request carried to the next zone when a zone comes up short.
// AWS answers with the instance ids and the per-pool errors at once instead
// of a scaling activity minutes later. LaunchInstances raises desired
// capacity by what it launched (RetryStrategy none), so nothing is left
// pending when AWS has no capacity.
//
// A call whose answer is lost may have launched: it is asked again with
// the same ClientToken, then confirmed by describing the group, and its
// remainder is never carried to another zone (that would launch twice).

// maxLaunchPerCall is LaunchInstances' RequestedCapacity limit.
const maxLaunchPerCall = 100

// PoolError is one per-pool error of a synchronous launch.
type PoolError struct {
	AvailabilityZone string
	InstanceType     string
	Market           string
	Code             string
	Message          string
}

// syncLaunch is the spot side of a synchronous launch: the group's zones,
// where each pool's failure goes (the launch failures), whether the launch
// fell short for lack of capacity (the shortage the fallback watches), and
// the log.
type syncLaunch struct {
	zones  []string
	failed func(LaunchFailure)
	short  func(bool)
	log    hclog.Logger
}

// syncLaunch is this Spot's side of a synchronous launch.
func (s *Spot) syncLaunch() syncLaunch {
	s.mu.Lock()
	azs := append([]string(nil), s.azs...)
	s.mu.Unlock()
	return syncLaunch{zones: azs, failed: s.failures.handle, short: s.setSyncShort, log: s.log}
}

// setSyncShort records whether the last synchronous launch fell short for
// lack of capacity.
func (s *Spot) setSyncShort(short bool) {
	s.mu.Lock()
	s.syncShort = short
	s.mu.Unlock()
}

// launchSync launches up to n instances with LaunchInstances, clamped to
// MaxSize. Requested < n with a nil error means MaxSize or AWS's capacity
// cut it; the pool errors say which pools failed. With nothing launched and
// errors, the error joins them.
func (g *Group) launchSync(ctx context.Context, n int, s syncLaunch) (IncreaseResult, []PoolError, error) {
	if n <= 0 {
		return IncreaseResult{}, nil, nil
	}
	g.opMu.Lock()
	defer g.opMu.Unlock()

	snap, err := g.latestOrRefresh(ctx)
	if err != nil {
		return IncreaseResult{}, nil, err
	}
	from := g.base(snap)
	res := IncreaseResult{From: from, Desired: from, MaxSize: snap.MaxSize}
	k := min(n, snap.MaxSize-from)
	if k <= 0 {
		return res, nil, &AtMaxSizeError{Name: g.name, Desired: from, MaxSize: snap.MaxSize}
	}

	var (
		poolErrs []PoolError
		callErrs []error
		got      = map[string]bool{} // ids launched by this call
	)
	token := newClientToken()
	for i, az := range zonesByLoad(s.zones, snap) {
		remaining := k - res.Requested
		if remaining <= 0 {
			break
		}
		in := &autoscaling.LaunchInstancesInput{
			AutoScalingGroupName: aws.String(g.name),
			// Per zone and Increase: a call repeated with it is not
			// launched twice (AWS answers it with the first answer).
			ClientToken:       aws.String(fmt.Sprintf("%s-%d", token, i)),
			RequestedCapacity: aws.Int32(int32(min(remaining, maxLaunchPerCall))),
			AvailabilityZones: []string{az},
			RetryStrategy:     types.RetryStrategyNone,
		}
		out, err := g.clients.AutoScaling.LaunchInstances(ctx, in)
		ambiguous := err != nil && mayHaveApplied(err)
		if ambiguous {
			// The SDK's attempts got no answer: ask once more with the
			// same token. If the launch took effect, AWS answers with its
			// instances; if it never arrived, it launches now, once.
			out, err = g.clients.AutoScaling.LaunchInstances(ctx, in, oneAttempt)
			if err == nil {
				s.log.Info("synchronous launch: the answer was lost; asking again with the same client token got AWS's answer", "availability_zone", az)
			}
		}
		if err != nil && !ambiguous {
			// Not applied (validation, throttling, access): the rest may
			// go to the next zone.
			callErrs = append(callErrs, fmt.Errorf("%s: %w", az, explain("autoscaling:LaunchInstances", err)))
			continue
		}
		if err != nil {
			// Maybe launched: never carry the rest to another zone under a
			// new token. Count what the group shows and stop here.
			err = fmt.Errorf("%s: %w", az, explain("autoscaling:LaunchInstances", err))
			n, cerr := g.confirmLaunch(ctx, snap, az, from+res.Requested, min(remaining, maxLaunchPerCall), got)
			if cerr != nil {
				s.log.Error("synchronous launch: the answer was lost and the group could not be described; instances it may have launched appear as unexpected and are removed when idle",
					"availability_zone", az, "error", err, "describe_error", cerr)
				callErrs = append(callErrs, err)
			} else {
				s.log.Warn("synchronous launch: the answer was lost; counted what the group shows it launched, the rest stays queued in the runner",
					"availability_zone", az, "launched", n, "error", err)
				if n == 0 {
					callErrs = append(callErrs, err)
				}
			}
			if n > 0 {
				res.Requested += n
				res.Desired = from + res.Requested
				g.ownChange(res.Desired)
			}
			break
		}
		launched := 0
		for _, c := range out.Instances {
			launched += len(c.InstanceIds)
			for _, id := range c.InstanceIds {
				got[id] = true
			}
		}
		if launched > 0 {
			res.Requested += launched
			res.Desired = from + res.Requested
			g.ownChange(res.Desired)
		}
		for _, e := range out.Errors {
			pe := PoolError{
				AvailabilityZone: cmpOrString(aws.ToString(e.AvailabilityZone), az),
				InstanceType:     aws.ToString(e.InstanceType),
				Market:           aws.ToString(e.MarketType),
				Code:             aws.ToString(e.ErrorCode),
				Message:          aws.ToString(e.ErrorMessage),
			}
			poolErrs = append(poolErrs, pe)
			s.failed(LaunchFailure{
				ActivityID: fmt.Sprintf("launch-instances/%s/%d/%s/%s", token, i, pe.InstanceType, pe.Code),
				Status:     "Failed",
				Cause:      pe.describe(),

				AvailabilityZone: pe.AvailabilityZone, InstanceType: pe.InstanceType,
			})
		}
	}
	s.short(res.Requested < k && len(poolErrs) > 0)
	if res.Requested == 0 && (len(poolErrs) > 0 || len(callErrs) > 0) {
		errs := callErrs
		for _, pe := range poolErrs {
			errs = append(errs, errors.New(pe.describe()))
		}
		return res, poolErrs, fmt.Errorf("no instance launched: %w", errors.Join(errs...))
	}
	for _, err := range callErrs {
		s.log.Warn("synchronous launch in one availability zone failed", "error", err)
	}
	return res, poolErrs, nil
}

// oneAttempt: no SDK retries for a call whose retries already ran.
func oneAttempt(o *autoscaling.Options) { o.RetryMaxAttempts = 1 }

// confirmLaunch looks at the group after a LaunchInstances in az that may
// have taken effect without an answer. LaunchInstances raises desired
// capacity by what it launched, and its instances are members at once: the
// launch is the rise of desired capacity over before (what it was when the
// call went out), as far as new members in az (not in snap, not counted
// already) back it, and at most what the call asked for. Erring low leaves
// an instance unexpected (fleeting removes it when idle); erring high would
// leave a request pending forever.
func (g *Group) confirmLaunch(ctx context.Context, snap *Snapshot, az string, before, asked int, counted map[string]bool) (int, error) {
	fresh, _, err := g.refreshLocked(ctx)
	if err != nil {
		return 0, err
	}
	newInZone := 0
	for _, i := range fresh.Instances {
		if _, old := snap.Instance(i.ID); !old && !counted[i.ID] && i.AvailabilityZone == az {
			newInZone++
		}
	}
	return max(0, min(fresh.Desired-before, newInZone, asked)), nil
}

// describe is the error in the words a scaling activity would use, so it
// classifies the same way.
func (p PoolError) describe() string {
	market := p.Market
	if market == "" {
		market = "unknown market"
	}
	return fmt.Sprintf("%s - %s (%s %s in %s)", p.Code, p.Message, market, p.InstanceType, p.AvailabilityZone)
}

// zonesByLoad orders the group's zones (azs, reordered in place) by how
// many live members each has, so launches keep the zones balanced as Auto
// Scaling would.
func zonesByLoad(azs []string, snap *Snapshot) []string {
	load := map[string]int{}
	for _, i := range snap.Instances {
		if i.Phase.CountsTowardDesired() {
			load[i.AvailabilityZone]++
		}
	}
	sort.SliceStable(azs, func(a, b int) bool { return load[azs[a]] < load[azs[b]] })
	return azs
}

func newClientToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ec2spot-" + hex.EncodeToString(b)
}

func cmpOrString(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
