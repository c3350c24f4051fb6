package ec2spot

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// RebalancePolicy says what a rebalance recommendation does to an instance.
type RebalancePolicy string

const (
	// RebalanceDrain: Heartbeat reports the instance unhealthy, so no new
	// job is placed on it and the runner removes it when idle. It is not
	// reported deleting: AWS has not decided to take it.
	RebalanceDrain RebalancePolicy = "drain"
	// RebalanceIgnore: the recommendation is logged and nothing else.
	RebalanceIgnore RebalancePolicy = "ignore"
)

// Defaults for SpotOptions.
const (
	DefaultActivityPollInterval = 10 * time.Second
	// DefaultDoomedGrace bounds how long an instance AWS announced to take
	// is reported deleting while it stays in service. After that it is
	// reported running again (still unhealthy), so the runner can remove it
	// itself: fleeting never removes what it sees deleting, and a signal
	// AWS did not follow through must not leak a billing instance.
	DefaultDoomedGrace = 10 * time.Minute
	// spotNoticePeriod is AWS's two-minute interruption notice.
	spotNoticePeriod = 2 * time.Minute
)

// SpotOptions configure the spot features of a group.
type SpotOptions struct {
	// Clients default to the group's.
	Clients Clients
	Log     hclog.Logger // nil = discard
	Now     func() time.Time

	// QueueURL is the SQS queue EventBridge feeds; "" = no push signals.
	QueueURL  string
	Rebalance RebalancePolicy // "" = drain
	// Fallback enables the on-demand fallback; nil = off.
	Fallback *FallbackOptions
	// Fleet is the MixedInstancesPolicy shape Init reconciles; nil = off.
	Fleet *FleetSpec

	// ActivityPollInterval bounds DescribeScalingActivities while the group
	// is short of capacity; 0 = DefaultActivityPollInterval.
	ActivityPollInterval time.Duration
	// DoomedGrace: see DefaultDoomedGrace; 0 = default.
	DoomedGrace time.Duration
	// QueueWait is the SQS long-poll wait in seconds; 0 = 20.
	QueueWait int32
	// Observer is told about signals, launch failures and the fallback;
	// nil = none.
	Observer Observer
	// PollInterval bounds how often Update's spot request poll runs; a
	// spot request check (FreshVerdict) that covered every member counts
	// as a poll. 0 = every Update.
	PollInterval time.Duration
	// CheckMaxAge is the oldest spot request answer FreshVerdict trusts;
	// older, it checks the instance's spot request. 0 = always check.
	CheckMaxAge time.Duration
}

// Spot watches a group's spot instances and capacity: interruption and
// rebalance signals (spot request polling, the EventBridge queue, lifecycle
// states), launch failures, the on-demand fallback and the fleet shape.
type Spot struct {
	group   groupView
	clients Clients
	log     hclog.Logger
	now     func() time.Time

	queueURL   string
	queueWait  int32
	rebalance  RebalancePolicy
	grace      time.Duration
	pollEvery  time.Duration
	fleet      *FleetSpec
	fallback   *fallback
	failures   *launchFailures
	pollErrors onceLog
	// noticeErrors, noticeSkips: lowering desired capacity for notices
	// (notice_lower.go).
	noticeErrors onceLog
	noticeSkips  onceLog
	observer     Observer
	// Spot request freshness (spot_check.go).
	pollInterval time.Duration
	checkMaxAge  time.Duration
	checkErrors  onceLog

	mu      sync.Mutex
	signals map[string]*instanceSignals
	// market caches what the spot request poll learnt: "spot" or
	// "on-demand" per instance id.
	market map[string]string
	// learnedAt: the last unfiltered (market-learning) spot request poll.
	learnedAt time.Time
	// polledAt is when the last successful spot request answer covering
	// every member that can be spot was asked for (a poll or a check).
	polledAt time.Time
	// checkedAt: per instance, when the last successful check of its spot
	// request was asked for.
	checkedAt map[string]time.Time
	// noticeSettled: members whose interruption notice desired capacity
	// has been settled for (lowered, already left out, or skipped).
	noticeSettled map[string]bool
	// startedAt: when this Spot was made; firstAnswerAt: when the first
	// spot request answer covering every member was applied. A notice
	// seen by then may be older than the process (notice_lower.go).
	startedAt, firstAnswerAt time.Time
	// check is the newest spot request check, running or done.
	check *spotCheck
	// azs are the group's availability zones (synchronous launches).
	azs []string
	// syncShort: the last synchronous launch fell short for lack of
	// capacity. LaunchInstances leaves no unfilled desired capacity behind,
	// so this is the shortage the fallback watches in that mode.
	syncShort bool

	stopConsumer context.CancelFunc
	consumerDone chan struct{}
}

// groupView is what Spot needs of its group: its name and latest snapshot,
// what the plugin itself did to its members, and lowering desired capacity
// for members under an interruption notice.
type groupView interface {
	Name() string
	Latest() *Snapshot
	// terminationRequested: the plugin terminated id (its own doing, no
	// signal); wasMember: id was ever seen in the group.
	terminationRequested(id string) bool
	wasMember(id string) bool
	// knownMarket is the market of id from cached EC2 details, "" unknown.
	knownMarket(id string) string
	// leftOut counts the members desired capacity no longer counts.
	leftOut(snap *Snapshot) int
	LowerForNotices(ctx context.Context, ids []string, unsure map[string]bool) (NoticeLowering, error)
}

// newSpot returns the spot features of a group; it makes no API calls.
// o.Clients must be set (spotFor defaults them to the group's).
func newSpot(g groupView, o SpotOptions) *Spot {
	s := &Spot{
		group:     g,
		clients:   o.Clients,
		log:       o.Log,
		now:       o.Now,
		queueURL:  o.QueueURL,
		queueWait: o.QueueWait,
		rebalance: o.Rebalance,
		grace:     o.DoomedGrace,
		pollEvery: o.ActivityPollInterval,
		fleet:     o.Fleet,
		signals:   map[string]*instanceSignals{},
		market:    map[string]string{},
		observer:  orNop(o.Observer),
		checkedAt: map[string]time.Time{},

		noticeSettled: map[string]bool{},
		pollInterval:  o.PollInterval,
		checkMaxAge:   o.CheckMaxAge,
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.startedAt = s.now()
	if s.queueWait <= 0 {
		s.queueWait = 20
	}
	if s.rebalance == "" {
		s.rebalance = RebalanceDrain
	}
	if s.grace <= 0 {
		s.grace = DefaultDoomedGrace
	}
	if s.pollEvery <= 0 {
		s.pollEvery = DefaultActivityPollInterval
	}
	s.failures = newLaunchFailures(s.log, s.now)
	s.failures.observer = s.observer
	s.fallback = newFallback(fallbackEnv{ // also finishes a fallback left by an earlier process
		group: s.group, clients: s.clients, now: s.now, log: s.log,
		failures: s.failures, observeFallback: s.observeFallback,
	}, o.Fallback)
	s.observeFallbackStart()
	return s
}

// Init runs once before the first Observe: it restores an on-demand
// fallback a previous process left behind (from the group tag) and
// reconciles the fleet shape.
func (s *Spot) Init(ctx context.Context) error {
	g, err := describeGroupSettings(ctx, s.clients.AutoScaling, s.group.Name())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.azs = append([]string(nil), g.AvailabilityZones...)
	s.mu.Unlock()
	restoreFallbackTag(ctx, s.fallback, g)
	if s.fleet != nil {
		if err := s.reconcileFleet(ctx, g, *s.fleet); err != nil {
			return err
		}
	}
	return nil
}

// Start starts the interruption queue consumer, if a queue is configured.
func (s *Spot) Start() {
	if s.queueURL != "" && s.stopConsumer == nil {
		s.startConsumer()
	}
}

// Observe runs after each successful Refresh (once per Update): it polls
// the spot requests for interruption notices, explains new launch failures
// while the group is short of capacity, and drives the on-demand fallback.
// Its failures are logged, never returned: the snapshot stands.
func (s *Spot) Observe(ctx context.Context, snap *Snapshot) {
	if s == nil {
		return
	}
	s.ObservePolled(ctx, snap, s.startPoll(ctx, snap))
}

// ObservePolled is Observe with the spot request poll p (from StartPoll,
// nil = none needed) already running beside the Refresh that took snap.
func (s *Spot) ObservePolled(ctx context.Context, snap *Snapshot, p *SpotPoll) {
	if s == nil {
		p.Wait()
		return
	}
	s.pruneSignals(snap)
	// p is nil when no poll was needed or due; an earlier failure's log
	// state then stands.
	if p != nil {
		if err := s.applyPoll(snap, p); err != nil {
			s.pollErrors.log(s.log, s.now(), "checking spot requests for interruption notices failed; relying on other signals until it works again", err)
		} else {
			s.pollErrors.reset()
		}
	}
	s.logPendingSignals(snap)
	s.lowerForNotices(ctx, snap)

	// Members under a notice that desired capacity no longer counts fill
	// nothing: a launch for the runner's replacement may be outstanding.
	filling := fillingCount(snap) - s.group.leftOut(snap)
	s.mu.Lock()
	short := snap.Desired > filling || s.syncShort
	s.mu.Unlock()
	s.failures.observeShortage(short)
	if short && s.failures.due(s.pollEvery) {
		if err := s.failures.check(ctx, s.clients.AutoScaling, s.group.Name()); err != nil {
			s.log.Warn("describing scaling activities failed", "error", err)
		}
	}
	if s.fallback != nil {
		s.fallback.observe(ctx, snap, short)
	}
}

// IncreaseHold is how long Increase should wait before asking for more
// instances: non-zero only while launches keep failing for lack of capacity
// (and no on-demand fallback is in force), with exponential back-off.
// fresh is true the first time a back-off period is reported.
func (s *Spot) IncreaseHold() (hold time.Duration, cause *LaunchFailure, fresh bool) {
	if s == nil || (s.fallback != nil && s.fallback.active()) {
		return 0, nil, false
	}
	return s.failures.hold()
}

// stopBudget bounds what Stop spends on AWS: fleeting's shutdown (and the
// runner behind it) must not wait on retries against a failing AWS. An
// unfinished restore is done by the next start (from the group tag).
const stopBudget = 2 * time.Second

// Stop stops the queue consumer and, when the fallback is in force,
// restores the group's on-demand percentage, within stopBudget.
func (s *Spot) Stop(ctx context.Context) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, stopBudget)
	defer cancel()
	if s.stopConsumer != nil {
		s.stopConsumer()
		<-s.consumerDone
		s.stopConsumer = nil
	}
	if s.fallback != nil {
		s.fallback.restoreOnStop(ctx)
	}
}

// fillingCount is how many members fill desired capacity (launching or in
// service): desired above it means launches are not happening.
func fillingCount(snap *Snapshot) int {
	n := 0
	for _, i := range snap.Instances {
		if i.Phase.CountsTowardDesired() {
			n++
		}
	}
	return n
}

// onceLog logs a recurring error once, then again only when it changes or
// after a quiet period.
type onceLog struct {
	mu   sync.Mutex
	last string
	at   time.Time
}

const onceLogQuiet = 10 * time.Minute

func (o *onceLog) log(log hclog.Logger, now time.Time, msg string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	text := err.Error()
	if text == o.last && now.Sub(o.at) < onceLogQuiet {
		log.Debug(msg, "error", err)
		return
	}
	o.last, o.at = text, now
	if IsAccessDenied(err) {
		log.Error(msg, "error", err)
		return
	}
	log.Warn(msg, "error", err)
}

func (o *onceLog) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = ""
}
