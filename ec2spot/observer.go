package ec2spot

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Observer is told about the events worth counting (the metrics package
// implements it). Every method must be cheap and must not block: they run
// on the plugin's request paths, some with locks held. Labels it receives
// are bounded: no instance ids.
type Observer interface {
	// SpotSignal: the first interruption notice or rebalance
	// recommendation for an instance; source is "poll" or "queue".
	SpotSignal(kind SignalKind, source string)
	// FallbackPhase: the on-demand fallback is now in phase ("off",
	// "spot", "on_demand", "probing"); switched is "to_on_demand" or
	// "to_spot" when the group's on-demand percentage was changed, "" else.
	FallbackPhase(phase, switched string)
	// LaunchFailure: one failed launch (scaling activity or synchronous
	// launch error), each counted once; zone and instanceType are "" when
	// AWS did not say.
	LaunchFailure(class FailureClass, zone, instanceType string)
	// APIRequest: one HTTP attempt (retries count) of service ("ec2",
	// "autoscaling", ... as in IAM) and action, with outcome "success",
	// "throttled" or "error".
	APIRequest(service, action, outcome string)
	// LimiterWait: how long the client-side rate limit held an attempt.
	LimiterWait(service string, waited time.Duration)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) SpotSignal(SignalKind, string)              {}
func (NopObserver) FallbackPhase(string, string)               {}
func (NopObserver) LaunchFailure(FailureClass, string, string) {}
func (NopObserver) APIRequest(string, string, string)          {}
func (NopObserver) LimiterWait(string, time.Duration)          {}

// orNop is o, or NopObserver when o is nil.
func orNop(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}

// Fallback phase names, as the Observer and `status` see them.
const (
	FallbackOff      = "off"
	FallbackSpot     = "spot"
	FallbackOnDemand = "on_demand"
	FallbackProbing  = "probing"
)

func (p fallbackPhase) String() string {
	switch p {
	case phaseOnDemand:
		return FallbackOnDemand
	case phaseProbing:
		return FallbackProbing
	default:
		return FallbackSpot
	}
}

// observeSignal counts a newly recorded spot signal.
func (s *Spot) observeSignal(sig Signal) {
	if sig.Kind != SignalInterruption && sig.Kind != SignalRebalance {
		return
	}
	source := sig.Source
	if source == SourceSpotRequest {
		source = "poll"
	}
	s.observer.SpotSignal(sig.Kind, source)
}

// observeFallback reports the fallback's phase after a change; switched
// says whether the group's on-demand percentage changed with it.
func (s *Spot) observeFallback(p fallbackPhase, switched string) {
	s.observer.FallbackPhase(p.String(), switched)
}

// observeFallbackStart reports the initial phase: spot with the fallback
// configured, off without.
func (s *Spot) observeFallbackStart() {
	if !s.fallback.enabled {
		s.observer.FallbackPhase(FallbackOff, "")
		return
	}
	s.observeFallback(phaseSpot, "")
}

// Market is what the plugin knows of the instance's market without asking
// AWS: "spot", "on-demand" or "unknown".
func (s *Spot) Market(id string) string {
	if s == nil {
		return "unknown"
	}
	s.mu.Lock()
	m := s.market[id]
	s.mu.Unlock()
	if m == "" {
		m = s.group.knownMarket(id)
	}
	if m == "" {
		return "unknown"
	}
	return m
}

// InterruptedAt is when AWS gave the interruption notice of an instance it
// takes (the notice's own time, or when the plugin learnt it); zero when
// there is none.
func (s *Spot) InterruptedAt(id string) time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.signals[id]
	if is == nil {
		return time.Time{}
	}
	sig, ok := is.byKind[SignalInterruption]
	if !ok {
		return time.Time{}
	}
	if !sig.NoticeTime.IsZero() && !sig.NoticeTime.After(sig.SeenAt) {
		return sig.NoticeTime
	}
	return sig.SeenAt
}

// activityPlacement reads the zone and instance type of a scaling activity
// from its Details JSON ("Availability Zone", "Instance Type" when AWS
// gives them).
func activityPlacement(a types.Activity) (zone, instanceType string) {
	var d map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(a.Details)), &d); err != nil {
		return "", ""
	}
	zone, _ = d["Availability Zone"].(string)
	instanceType, _ = d["Instance Type"].(string)
	return zone, instanceType
}

// observe counts a launch failure seen for the first time.
func (f *launchFailures) observe(lf LaunchFailure) {
	if f.observer != nil {
		f.observer.LaunchFailure(lf.Class, lf.AvailabilityZone, lf.InstanceType)
	}
}
