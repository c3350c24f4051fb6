package ec2spot

import (
	"fmt"
	"time"
)

// SignalKind is what AWS announced about an instance.
type SignalKind int

const (
	// SignalInterruption: a spot interruption notice (marked-for-termination
	// or marked-for-stop, an interruption warning event, or a spot request
	// status saying the instance was already taken).
	SignalInterruption SignalKind = iota
	// SignalRebalance: a rebalance recommendation (elevated risk).
	SignalRebalance
	// SignalStopped: EC2 reports the instance shutting down, stopping,
	// stopped or terminated.
	SignalStopped
	// SignalTerminating: Auto Scaling announced it terminates the instance.
	SignalTerminating
)

func (k SignalKind) String() string {
	switch k {
	case SignalInterruption:
		return "spot_interruption"
	case SignalRebalance:
		return "rebalance_recommendation"
	case SignalStopped:
		return "ec2_state_change"
	case SignalTerminating:
		return "auto_scaling_termination"
	default:
		return "invalid"
	}
}

// Signal sources.
const (
	SourceSpotRequest = "spot_request" // DescribeSpotInstanceRequests
	SourceQueue       = "queue"        // EventBridge via SQS
)

// Signal is one announcement about one instance.
type Signal struct {
	Kind   SignalKind
	Source string
	// Detail is the spot status code, interruption action or EC2 state.
	Detail string
	// NoticeTime is AWS's timestamp of the announcement; zero if unknown.
	NoticeTime time.Time
	// SeenAt is when the plugin first learnt it.
	SeenAt time.Time
}

// dooms reports whether AWS is taking the instance.
func (s Signal) dooms() bool { return s.Kind != SignalRebalance }

type instanceSignals struct {
	byKind map[SignalKind]Signal
	logged map[SignalKind]bool
}

// signalMemory bounds how long signals of instances outside the latest
// snapshot are kept (an event can arrive before the instance is seen).
const signalMemory = time.Hour

// record keeps the first signal of each kind per instance: duplicates and
// late, out-of-order deliveries change nothing.
func (s *Spot) record(id string, sig Signal) {
	s.mu.Lock()
	is := s.signals[id]
	if is == nil {
		is = &instanceSignals{byKind: map[SignalKind]Signal{}, logged: map[SignalKind]bool{}}
		s.signals[id] = is
	}
	if _, dup := is.byKind[sig.Kind]; dup {
		s.mu.Unlock()
		return
	}
	sig.SeenAt = s.now()
	is.byKind[sig.Kind] = sig
	s.mu.Unlock()
	s.observeSignal(sig)

	// Spot notices are logged at once; state changes and terminations at
	// the next Observe, when a termination the plugin requested itself (its
	// event can beat the terminate call's return) is known and left out.
	if sig.Kind != SignalInterruption && sig.Kind != SignalRebalance {
		return
	}
	if snap := s.group.Latest(); snap != nil {
		if inst, ok := snap.Instance(id); ok {
			s.logSignals(inst)
		}
	}
}

// Verdict is what the signals mean for handing out an instance.
type Verdict struct {
	// Deleting: report the instance deleting (AWS is taking it).
	Deleting bool
	// Unhealthy: Heartbeat must fail, so no new job is placed on it.
	Unhealthy bool
	// Reason says why, for logs and the Heartbeat error.
	Reason string
}

// Verdict returns what is known against the instance; the zero Verdict when
// nothing is.
func (s *Spot) Verdict(id string) Verdict {
	if s == nil {
		return Verdict{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.signals[id]
	if is == nil {
		return Verdict{}
	}
	for _, k := range []SignalKind{SignalInterruption, SignalStopped, SignalTerminating} {
		if sig, ok := is.byKind[k]; ok {
			return Verdict{
				Deleting:  s.now().Sub(sig.SeenAt) < s.grace,
				Unhealthy: true,
				Reason:    fmt.Sprintf("%s (%s) via %s", k, sig.Detail, sig.Source),
			}
		}
	}
	if sig, ok := is.byKind[SignalRebalance]; ok && s.rebalance == RebalanceDrain {
		return Verdict{Unhealthy: true, Reason: fmt.Sprintf("%s via %s: draining", SignalRebalance, sig.Source)}
	}
	return Verdict{}
}

// SnapshotReusable reports whether Update may answer from the settled
// snapshot snap (Group.RefreshUnlessSettled): the plugin waits on AWS
// (waiting: its own terminations, status checks) or a member still in
// service is reported deleting because AWS announced it takes it, and no
// such member may have left the group: once AWS's notice period of one is
// over by minShutdown (the least time AWS takes to shut an instance down
// and drop it from the group), it may be gone any moment, and fleeting
// counts it toward max_instances until it sees it gone, so the group is
// described at fleeting's pace again.
func (s *Spot) SnapshotReusable(snap *Snapshot, waiting bool, minShutdown time.Duration) bool {
	if s == nil {
		return waiting
	}
	deleting := false
	for _, inst := range snap.Instances {
		if (inst.Phase == PhaseInService || inst.Phase == PhaseStandby) && s.Verdict(inst.ID).Deleting {
			if s.mayBeGone(inst.ID, minShutdown) {
				return false
			}
			deleting = true
		}
	}
	return deleting || waiting
}

// mayBeGone reports whether AWS may have dropped id from the group by now:
// its notice period has been over for minShutdown, or its signal gives no
// period (hibernate, already being taken).
func (s *Spot) mayBeGone(id string, minShutdown time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.signals[id]
	if is == nil {
		return false
	}
	for _, k := range []SignalKind{SignalInterruption, SignalStopped, SignalTerminating} {
		if sig, ok := is.byKind[k]; ok {
			end, ok := noticeEnd(sig)
			return !ok || !s.now().Before(end.Add(minShutdown))
		}
	}
	return false
}

// pruneSignals forgets instances that left the group a while ago.
func (s *Spot) pruneSignals(snap *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, is := range s.signals {
		if _, ok := snap.Instance(id); ok {
			continue
		}
		newest := time.Time{}
		for _, sig := range is.byKind {
			if sig.SeenAt.After(newest) {
				newest = sig.SeenAt
			}
		}
		if now.Sub(newest) > signalMemory {
			delete(s.signals, id)
		}
	}
	for id := range s.market {
		if _, ok := snap.Instance(id); !ok {
			delete(s.market, id)
		}
	}
	for id := range s.checkedAt {
		if _, ok := snap.Instance(id); !ok {
			delete(s.checkedAt, id)
		}
	}
	for id := range s.noticeSettled {
		if _, ok := snap.Instance(id); !ok {
			delete(s.noticeSettled, id)
		}
	}
}

// logPendingSignals logs signals that arrived before their instance was in
// a snapshot.
func (s *Spot) logPendingSignals(snap *Snapshot) {
	s.mu.Lock()
	var ids []string
	for id, is := range s.signals {
		if len(is.logged) < len(is.byKind) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		if inst, ok := snap.Instance(id); ok {
			s.logSignals(inst)
		}
	}
}

// logSignals logs each not yet logged signal of inst, once.
func (s *Spot) logSignals(inst Instance) {
	s.mu.Lock()
	is := s.signals[inst.ID]
	var todo []Signal
	if is != nil {
		for _, k := range []SignalKind{SignalInterruption, SignalStopped, SignalTerminating, SignalRebalance} {
			if sig, ok := is.byKind[k]; ok && !is.logged[k] {
				is.logged[k] = true
				todo = append(todo, sig)
			}
		}
	}
	market := s.market[inst.ID]
	s.mu.Unlock()
	if market == "" {
		market = s.group.knownMarket(inst.ID)
	}
	if market == "" {
		market = "unknown"
	}

	doomLogged := false
	s.mu.Lock()
	if is != nil {
		for k, done := range is.logged {
			if done && k != SignalRebalance && !containsSignal(todo, k) {
				doomLogged = true
			}
		}
	}
	s.mu.Unlock()
	for _, sig := range todo {
		kv := []any{
			"instance", inst.ID, "instance_type", inst.InstanceType, "availability_zone", inst.AvailabilityZone,
			"lifecycle_state", string(inst.LifecycleState), "market", market,
			"signal", sig.Kind.String(), "detail", sig.Detail, "source", sig.Source,
		}
		if !sig.NoticeTime.IsZero() {
			kv = append(kv, "notice_time", sig.NoticeTime.UTC().Format(time.RFC3339))
		}
		if (sig.Kind == SignalStopped || sig.Kind == SignalTerminating) && s.group.terminationRequested(inst.ID) {
			s.log.Trace("signal of an instance the plugin is terminating itself", kv...)
			continue
		}
		if sig.dooms() && doomLogged {
			// Already explained (e.g. the interruption before the state change).
			s.log.Debug("further signal for an instance already reported doomed", kv...)
			continue
		}
		if sig.dooms() {
			doomLogged = true
		}
		switch sig.Kind {
		case SignalInterruption:
			kv = append(kv, "time_left", timeLeft(sig, s.now()).String())
			s.log.Warn("spot interruption notice: AWS is reclaiming the instance; reporting it deleting and unhealthy so no new job is placed on it, a running job continues until AWS takes it", kv...)
		case SignalStopped:
			s.log.Warn("EC2 reports the instance stopping or terminated outside the plugin; reporting it deleting and unhealthy so no new job is placed on it", kv...)
		case SignalTerminating:
			s.log.Info("auto scaling group is terminating the instance; reporting it deleting and unhealthy so no new job is placed on it", kv...)
		case SignalRebalance:
			if s.rebalance == RebalanceDrain {
				s.log.Warn("spot rebalance recommendation: elevated interruption risk; draining the instance (Heartbeat unhealthy, no new job is placed on it, the runner removes it when idle)", kv...)
			} else {
				s.log.Info("spot rebalance recommendation ignored (rebalance = \"ignore\")", kv...)
			}
		}
	}
}

func containsSignal(l []Signal, k SignalKind) bool {
	for _, s := range l {
		if s.Kind == k {
			return true
		}
	}
	return false
}

// timeLeft estimates the time until AWS takes the instance: two minutes
// after the notice for terminate and stop, none for hibernate or once the
// instance is already being taken.
func timeLeft(sig Signal, now time.Time) time.Duration {
	end, ok := noticeEnd(sig)
	if !ok {
		return 0
	}
	return max(0, end.Sub(now)).Round(time.Second)
}

// noticeEnd is when AWS may take the instance: two minutes after the
// notice for terminate and stop; ok is false when the signal gives no
// period (hibernate, or the instance is already being taken).
func noticeEnd(sig Signal) (end time.Time, ok bool) {
	if sig.Detail == "hibernate" || (sig.Detail != "" && sig.Detail != "terminate" && sig.Detail != "stop" &&
		sig.Detail != "marked-for-termination" && sig.Detail != "marked-for-stop") {
		return time.Time{}, false
	}
	at := sig.NoticeTime
	if at.IsZero() || at.After(sig.SeenAt) { // unknown, or clock skew
		at = sig.SeenAt
	}
	return at.Add(spotNoticePeriod), true
}
