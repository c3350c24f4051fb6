package ec2spot

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Status is a read-only look at a group for `status`: what the plugin
// would see and report, from a fixed call budget whatever the group size:
// one DescribeAutoScalingGroups, one DescribeInstances (by the group's tag,
// a page per 1000 instances), one DescribeSpotInstanceRequests per 200
// spot members, one page of DescribeScalingActivities. No per-instance
// calls, and nothing that changes AWS.
type Status struct {
	Group   string
	Region  string
	TakenAt time.Time

	MinSize, MaxSize, Desired int

	Instances []InstanceStatus
	// Activities are the newest scaling activities, newest first.
	Activities []ActivityStatus
	Fallback   FallbackStatus
	// LatestFailure is the newest failed or cancelled launch among the
	// activities read; nil when there is none.
	LatestFailure *LaunchFailure
}

// InstanceStatus is one member with its EC2 and spot request details.
type InstanceStatus struct {
	Instance
	Market     string // spot, on-demand, unknown (EC2 did not list it)
	EC2State   string // pending, running, shutting-down, ...
	LaunchTime time.Time
	// SpotRequestID, SpotRequestState (open, active, closed, ...) and
	// SpotRequestStatus (fulfilled, marked-for-termination, ...): spot only.
	SpotRequestID, SpotRequestState, SpotRequestStatus string
	// Verdict is what the spot request poll would make of the instance.
	Verdict Verdict
}

// ActivityStatus is one scaling activity.
type ActivityStatus struct {
	ID            string
	Status        string
	Description   string
	Cause         string
	StatusMessage string
	StartTime     time.Time
	EndTime       time.Time
}

// FallbackStatus is the on-demand fallback as the group shows it.
type FallbackStatus struct {
	// Phase: FallbackOnDemand while the fallback's group tag exists,
	// FallbackSpot otherwise (a probe is indistinguishable from spot on
	// AWS's side), FallbackOff without a mixed instances policy.
	Phase string
	// OnDemandPercentage is the group's OnDemandPercentageAboveBaseCapacity.
	OnDemandPercentage int
	// OriginalPercentage is the tag's value: what the fallback restores.
	OriginalPercentage *int
}

// Status read bounds.
const (
	// StatusActivities is how many scaling activities one status reads.
	StatusActivities = 25
	spotRequestBatch = 200 // filter values per DescribeSpotInstanceRequests
)

// ReadStatus reads the group for `status`; now is the age reference.
func ReadStatus(ctx context.Context, c Clients, name, region string, now time.Time) (*Status, error) {
	g, err := describeGroupFull(ctx, c.AutoScaling, name, region)
	if err != nil {
		return nil, err
	}
	snap := newSnapshot(g, now)
	st := &Status{
		Group: name, Region: region, TakenAt: now,
		MinSize: snap.MinSize, MaxSize: snap.MaxSize, Desired: snap.Desired,
		Fallback: fallbackStatus(g),
	}

	ec2Of, err := describeGroupInstances(ctx, c.EC2, name)
	if err != nil {
		return nil, err
	}
	var spotIDs []string
	for _, inst := range snap.Instances {
		is := InstanceStatus{Instance: inst, Market: "unknown"}
		if e, ok := ec2Of[inst.ID]; ok {
			is.Market = marketOnDemand
			if e.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot {
				is.Market = marketSpot
			}
			if e.State != nil {
				is.EC2State = string(e.State.Name)
			}
			is.LaunchTime = aws.ToTime(e.LaunchTime)
			is.SpotRequestID = aws.ToString(e.SpotInstanceRequestId)
			if is.SpotRequestID != "" {
				spotIDs = append(spotIDs, is.SpotRequestID)
			}
		}
		st.Instances = append(st.Instances, is)
	}

	reqs, err := describeSpotRequestsByID(ctx, c.EC2, spotIDs)
	if err != nil {
		return nil, err
	}
	for n := range st.Instances {
		is := &st.Instances[n]
		r, ok := reqs[is.SpotRequestID]
		if !ok {
			continue
		}
		is.SpotRequestState = string(r.State)
		if r.Status != nil {
			is.SpotRequestStatus = aws.ToString(r.Status.Code)
		}
		if sig, ok := spotRequestSignal(r); ok {
			is.Verdict = verdictOf(is.ID, sig, now)
		}
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].ID < st.Instances[j].ID })

	out, err := c.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
		AutoScalingGroupName: aws.String(name),
		MaxRecords:           aws.Int32(StatusActivities),
	})
	if err != nil {
		return nil, explain("autoscaling:DescribeScalingActivities", err)
	}
	for _, a := range out.Activities {
		st.Activities = append(st.Activities, ActivityStatus{
			ID: aws.ToString(a.ActivityId), Status: string(a.StatusCode), Description: aws.ToString(a.Description),
			Cause: aws.ToString(a.Cause), StatusMessage: aws.ToString(a.StatusMessage),
			StartTime: aws.ToTime(a.StartTime), EndTime: aws.ToTime(a.EndTime),
		})
		if st.LatestFailure == nil && (a.StatusCode == astypes.ScalingActivityStatusCodeFailed || a.StatusCode == astypes.ScalingActivityStatusCodeCancelled) {
			lf := LaunchFailure{ActivityID: aws.ToString(a.ActivityId), Status: string(a.StatusCode), Cause: aws.ToString(a.StatusMessage), StartTime: aws.ToTime(a.StartTime)}
			if lf.Cause == "" {
				lf.Cause = aws.ToString(a.Description)
			}
			lf.AvailabilityZone, lf.InstanceType = activityPlacement(a)
			lf.Class, lf.Hint = classifyFailure(lf.Cause)
			st.LatestFailure = &lf
		}
	}
	return st, nil
}

// describeGroupInstances lists the EC2 instances carrying the group's tag,
// by id: one call (a page per 1000), whatever the group size, and no
// not-found error for a member that vanished meanwhile.
func describeGroupInstances(ctx context.Context, api EC2API, group string) (map[string]ec2types.Instance, error) {
	out := map[string]ec2types.Instance{}
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{group}}},
		MaxResults: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain("ec2:DescribeInstances", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				out[aws.ToString(i.InstanceId)] = i
			}
		}
	}
	return out, nil
}

// describeSpotRequestsByID reads the given spot requests, filtered by id
// (no not-found error for a request AWS already forgot).
func describeSpotRequestsByID(ctx context.Context, api EC2API, ids []string) (map[string]ec2types.SpotInstanceRequest, error) {
	out := map[string]ec2types.SpotInstanceRequest{}
	for start := 0; start < len(ids); start += spotRequestBatch {
		batch := ids[start:min(start+spotRequestBatch, len(ids))]
		p := ec2.NewDescribeSpotInstanceRequestsPaginator(api, &ec2.DescribeSpotInstanceRequestsInput{
			Filters:    []ec2types.Filter{{Name: aws.String("spot-instance-request-id"), Values: batch}},
			MaxResults: aws.Int32(1000),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, explain("ec2:DescribeSpotInstanceRequests", err)
			}
			for _, r := range page.SpotInstanceRequests {
				out[aws.ToString(r.SpotInstanceRequestId)] = r
			}
		}
	}
	return out, nil
}

// verdictOf is what Spot.Verdict says of an instance with this one signal
// (seen when AWS gave it), with the default grace and rebalance policy.
func verdictOf(id string, sig Signal, now time.Time) Verdict {
	sig.SeenAt = sig.NoticeTime
	if sig.SeenAt.IsZero() || sig.SeenAt.After(now) {
		sig.SeenAt = now
	}
	s := &Spot{
		now: func() time.Time { return now }, grace: DefaultDoomedGrace, rebalance: RebalanceDrain,
		signals: map[string]*instanceSignals{id: {byKind: map[SignalKind]Signal{sig.Kind: sig}}},
	}
	return s.Verdict(id)
}

func fallbackStatus(g *astypes.AutoScalingGroup) FallbackStatus {
	pct, mixed := onDemandPercentage(g)
	if !mixed {
		return FallbackStatus{Phase: FallbackOff, OnDemandPercentage: 100}
	}
	fs := FallbackStatus{Phase: FallbackSpot, OnDemandPercentage: pct}
	if v, ok := groupTag(g, FallbackTagKey); ok {
		fs.Phase = FallbackOnDemand
		if orig, err := strconv.Atoi(v); err == nil {
			fs.OriginalPercentage = &orig
		}
	}
	return fs
}
