package ec2spot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/hashicorp/go-hclog"
)

// FailureClass groups launch failures by what fixes them.
type FailureClass string

// Failure classes. Scaling activities carry no error code, only AWS's
// message, so they are told apart by its wording.
const (
	FailureSpotCapacity     FailureClass = "spot_capacity"
	FailureOnDemandCapacity FailureClass = "on_demand_capacity"
	FailureSpotQuota        FailureClass = "spot_quota"
	FailureQuota            FailureClass = "quota"
	FailureImage            FailureClass = "image"
	FailureLaunchTemplate   FailureClass = "launch_template"
	FailureInvalidConfig    FailureClass = "invalid_configuration"
	FailureMaxSize          FailureClass = "max_size"
	FailureOther            FailureClass = "other"
)

// Capacity reports whether AWS simply had no capacity (worth backing off).
func (c FailureClass) Capacity() bool {
	return c == FailureSpotCapacity || c == FailureOnDemandCapacity
}

// FallbackHelps reports whether switching to on-demand can get past it.
func (c FailureClass) FallbackHelps() bool {
	return c == FailureSpotCapacity || c == FailureSpotQuota
}

// LaunchFailure is one failed or cancelled scaling activity.
type LaunchFailure struct {
	ActivityID string
	Status     string // Failed, Cancelled
	Cause      string // AWS's StatusMessage (or Description)
	Class      FailureClass
	Hint       string
	StartTime  time.Time
	// AvailabilityZone and InstanceType of the launch, "" when AWS did not say.
	AvailabilityZone, InstanceType string
}

var failureRules = []struct {
	class FailureClass
	any   []string // lower-case fragments of AWS's message
	hint  string
}{
	{FailureSpotQuota, []string{"maxspotinstancecountexceeded", "max spot instance count exceeded", "spot instance count exceeded"},
		"the account's spot vCPU quota is used up: request a quota increase (Service Quotas: EC2 \"All Standard Spot Instance Requests\"), or enable on_demand_fallback"},
	{FailureSpotCapacity, []string{"no spot capacity", "spot capacity not available", "capacity-not-available", "insufficient spot capacity", "spotmaxpricetoolow", "could not launch spot instances"},
		"AWS has no spot capacity in the group's pools: add instance types and availability zones (fleet.instance_types), use price-capacity-optimized, or enable on_demand_fallback"},
	{FailureOnDemandCapacity, []string{"insufficientinstancecapacity", "do not have sufficient", "insufficient capacity"},
		"AWS has no capacity for these instance types in this availability zone: add instance types or availability zones to the group"},
	{FailureQuota, []string{"vcpulimitexceeded", "vcpu limit", "instancelimitexceeded", "limit exceeded", "quota"},
		"an account quota is used up: request an increase in Service Quotas (EC2 On-Demand vCPUs) or lower max_instances"},
	{FailureImage, []string{"image id", "ami-", "invalidamiid"},
		"the launch template's AMI does not exist or is not shared with this account/region: update the launch template's image"},
	{FailureLaunchTemplate, []string{"launch template"},
		"the group's launch template (or version) is missing or invalid: fix the launch template or the group's reference to it"},
	{FailureInvalidConfig, []string{"architecture", "instance type", "invalidparameter", "not supported", "security group", "subnet", "iam instance profile", "key pair"},
		"the launch configuration is invalid: check instance types against the AMI architecture, subnets, security groups, key pair and instance profile"},
	{FailureMaxSize, []string{"max value", "maximum size", "above max", "protected from scale in"},
		"the group's size limits stop it: raise MaxSize, or check scale-in protection"},
}

// classifyFailure maps AWS's message to a class and a hint at the fix.
func classifyFailure(msg string) (FailureClass, string) {
	m := strings.ToLower(msg)
	for _, r := range failureRules {
		for _, frag := range r.any {
			if strings.Contains(m, frag) {
				return r.class, r.hint
			}
		}
	}
	return FailureOther, "see the group's activity history: aws autoscaling describe-scaling-activities --auto-scaling-group-name <group>"
}

// Increase back-off on capacity failures.
const (
	minIncreaseHold = 10 * time.Second
	maxIncreaseHold = 5 * time.Minute
	// causeQuiet: the same cause is logged again only after this long
	// without it.
	causeQuiet = time.Hour
	// One check reads the newest activities, activityPageSize (the API's
	// maximum) per call, until it reaches the frontier (the newest activity
	// an earlier check read completely, usually on the first page), and at
	// most activityPages calls. So a check costs 1 call in the steady state
	// and never more than 3, at most one check per ActivityPollInterval and
	// only while the group is short; 300 activities between two checks
	// (a large scale-in's "Terminating" ones) cannot hide a failure.
	activityPageSize = 100
	activityPages    = 3
	// activityHorizon: older activities are history (and end the reading):
	// they neither hold Increase back nor justify a fallback.
	activityHorizon = causeQuiet
)

// launchFailures explains failed scaling activities, each once.
type launchFailures struct {
	log      hclog.Logger
	now      func() time.Time
	observer Observer // nil = none

	mu          sync.Mutex
	lastCheck   time.Time
	lastErr     error                // the last check's failure, nil once one works
	frontier    string               // see activityPages
	seen        map[string]bool      // activity ids already handled
	causeLogged map[string]time.Time // cause → last logged or repeated
	latest      *LaunchFailure       // newest failure of the current shortage
	capacityRun int                  // capacity failures in a row
	holdUntil   time.Time
	announced   time.Time // the holdUntil last reported as new by hold
}

func newLaunchFailures(log hclog.Logger, now func() time.Time) *launchFailures {
	return &launchFailures{log: log, now: now, seen: map[string]bool{}, causeLogged: map[string]time.Time{}}
}

// observeShortage resets the back-off once the group has what it wants.
func (f *launchFailures) observeShortage(short bool) {
	if short {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest, f.capacityRun, f.holdUntil = nil, 0, time.Time{}
}

// due reports whether a check is due, and if so claims it.
func (f *launchFailures) due(every time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if !f.lastCheck.IsZero() && now.Sub(f.lastCheck) < every {
		return false
	}
	f.lastCheck = now
	return true
}

// check reads the activities since the previous check (bounded, see
// activityPages) and handles the failures among them.
func (f *launchFailures) check(ctx context.Context, api AutoScalingAPI, group string) error {
	f.mu.Lock()
	frontier := f.frontier
	f.mu.Unlock()
	horizon := f.now().Add(-activityHorizon)
	// next is the new frontier: the newest activity older than every
	// unfinished launch read (one may still fail, so it is read again).
	var next string
	var token *string
reading:
	for range activityPages {
		out, err := api.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
			AutoScalingGroupName: aws.String(group),
			MaxRecords:           aws.Int32(activityPageSize),
			NextToken:            token,
		})
		if err != nil {
			err = explain("autoscaling:DescribeScalingActivities", err)
			f.mu.Lock()
			f.lastErr = err
			f.mu.Unlock()
			return err
		}
		// Newest first (as AWS lists them): of several failures with one
		// cause, the newest is the one logged.
		for _, a := range out.Activities {
			id := aws.ToString(a.ActivityId)
			if st := aws.ToTime(a.StartTime); id != "" && id == frontier || !st.IsZero() && st.Before(horizon) {
				break reading
			}
			switch a.StatusCode {
			case types.ScalingActivityStatusCodeSuccessful:
			case types.ScalingActivityStatusCodeFailed, types.ScalingActivityStatusCodeCancelled:
				cause := aws.ToString(a.StatusMessage)
				if cause == "" {
					cause = aws.ToString(a.Description)
				}
				zone, instanceType := activityPlacement(a)
				f.handle(LaunchFailure{
					ActivityID: id,
					Status:     string(a.StatusCode),
					Cause:      cause,
					StartTime:  aws.ToTime(a.StartTime),

					AvailabilityZone: zone, InstanceType: instanceType,
				})
			default: // unfinished: a launch may still fail
				if strings.HasPrefix(aws.ToString(a.Description), "Launching") {
					next = ""
					continue
				}
			}
			if next == "" {
				next = id
			}
		}
		if token = out.NextToken; token == nil || *token == "" {
			break
		}
	}
	f.mu.Lock()
	if next != "" {
		f.frontier = next
	}
	f.lastErr = nil
	f.mu.Unlock()
	return nil
}

// lastError is the last check's failure; nil once a check works.
func (f *launchFailures) lastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// handle logs a failure once per activity id and once per cause (until the
// cause has been quiet for an hour), and counts capacity failures for the
// Increase back-off.
func (f *launchFailures) handle(lf LaunchFailure) {
	lf.Class, lf.Hint = classifyFailure(lf.Cause)
	f.mu.Lock()
	if lf.ActivityID != "" && f.seen[lf.ActivityID] {
		f.mu.Unlock()
		return
	}
	f.seen[lf.ActivityID] = true
	f.observe(lf)
	if len(f.seen) > 1000 {
		f.seen = map[string]bool{lf.ActivityID: true}
	}
	now := f.now()
	if f.latest == nil || !lf.StartTime.Before(f.latest.StartTime) {
		f.latest = &lf
	}
	// Only a current shortage holds Increase back: a restarted plugin reads
	// failures that may be days old, and those are history, not a reason
	// to keep jobs waiting.
	// (A failure without a start time, e.g. LaunchInstances' own errors,
	// happened just now.)
	if lf.Class.Capacity() && (lf.StartTime.IsZero() || now.Sub(lf.StartTime) <= maxIncreaseHold) {
		f.capacityRun++
		hold := maxIncreaseHold
		if f.capacityRun < 10 {
			hold = min(minIncreaseHold<<(f.capacityRun-1), maxIncreaseHold)
		}
		f.holdUntil = now.Add(hold)
	}
	last, logged := f.causeLogged[lf.Cause]
	f.causeLogged[lf.Cause] = now
	f.mu.Unlock()

	kv := []any{"activity_id", lf.ActivityID, "status", lf.Status, "reason", string(lf.Class), "cause", lf.Cause, "hint", lf.Hint}
	switch {
	case logged && now.Sub(last) < causeQuiet:
		f.log.Debug("launch failed again with the same cause", kv...)
	case lf.Class.Capacity() || lf.Class == FailureSpotQuota:
		f.log.Warn("auto scaling group could not launch an instance", kv...)
	default:
		f.log.Error("auto scaling group could not launch an instance", kv...)
	}
}

// hold is the remaining Increase back-off and the failure behind it; fresh
// is true the first time a back-off period is reported (to log it once).
func (f *launchFailures) hold() (d time.Duration, lf *LaunchFailure, fresh bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d = f.holdUntil.Sub(f.now())
	if d <= 0 || f.latest == nil {
		return 0, nil, false
	}
	fresh = !f.announced.Equal(f.holdUntil)
	f.announced = f.holdUntil
	c := *f.latest
	return d, &c, fresh
}

// latestFailure is the newest failure of the current shortage, if any.
func (f *launchFailures) latestFailure() *LaunchFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.latest == nil {
		return nil
	}
	lf := *f.latest
	return &lf
}
