package ec2spot

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for GroupOptions.
const (
	DefaultConsistencyWindow    = 30 * time.Second
	DefaultTerminateConcurrency = 10
	DefaultPasswordPollInterval = 5 * time.Second
	// DefaultWaitReuse: while the plugin only waits on AWS (the first
	// 10 s of its own terminations, status checks), fleeting's 2 s
	// Updates describe the group at most every 10 s. AWS takes longer
	// than that to shut an instance down, so fleeting does not see a
	// terminated instance gone later (it counts toward max_instances
	// until then). The plugin derives it from poll_interval.
	DefaultWaitReuse = 10 * time.Second
	// DefaultPasswordPollAttempts bounds the GetPasswordData polls of one
	// WindowsPassword: 120 × 5 s = 10 min, as GitLab's AWS plugin.
	DefaultPasswordPollAttempts = 120
	// forgetAfter bounds how long an id that left the group is remembered
	// as "ours" (so a late Decrease of it still counts as done).
	forgetAfter = 24 * time.Hour
)

// GroupOptions configure a Group.
type GroupOptions struct {
	Name    string
	Region  string
	Clients Clients
	// PublicKey is the public key PushKey pushes with EC2 Instance Connect
	// (authorized_keys format); its private half stays with the caller.
	PublicKey string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// ConsistencyWindow is how long a describe may lag behind the plugin's
	// own SetDesiredCapacity/terminate before a difference counts as drift.
	ConsistencyWindow time.Duration
	// TerminateConcurrency bounds parallel terminate calls in Decrease.
	TerminateConcurrency int
	// PasswordPollInterval is the GetPasswordData polling interval.
	PasswordPollInterval time.Duration
	// PasswordPollAttempts bounds the GetPasswordData calls of one
	// WindowsPassword; 0 = DefaultPasswordPollAttempts.
	PasswordPollAttempts int
	// SettledReuse is how long RefreshUnlessSettled answers from a settled
	// snapshot instead of describing the group; 0 = always describe.
	SettledReuse time.Duration
	// WaitReuse is how long it does so while the plugin waits on AWS for
	// its own terminations or members' status checks (at most
	// SettledReuse); 0 = DefaultWaitReuse.
	WaitReuse time.Duration
	// ReadyWhen is when an InService member may get a job (readiness.go);
	// "" = ReadyRunning.
	ReadyWhen ReadyWhen
	// StatusCheckEvery bounds how often ReadyStatusOK asks for the status
	// checks of waiting members; 0 = on every Update.
	StatusCheckEvery time.Duration
}

// Group manages one Auto Scaling group.
type Group struct {
	name    string
	region  string
	clients Clients
	pubKey  string
	now     func() time.Time

	consistencyWindow    time.Duration
	terminateConcurrency int
	passwordPoll         time.Duration
	passwordAttempts     int
	settledReuse         time.Duration
	waitReuse            time.Duration

	// opMu serialises the calls that read and move desired capacity
	// (Refresh, Increase, Decrease), API calls included.
	opMu sync.Mutex
	// opsSinceRefresh counts the scaling calls (Increase, Decrease,
	// synchronous launches) begun since the last Refresh; guarded by opMu.
	opsSinceRefresh int

	// mu guards the fields below; held only briefly, never across API calls.
	mu   sync.Mutex
	snap *Snapshot
	// seen: every id observed in the group, with when it was last seen.
	seen map[string]time.Time
	// expected is the desired capacity as the plugin believes it: the last
	// observed value plus the plugin's own changes since.
	expected int
	// pendingSince is when the plugin last changed desired capacity and no
	// describe has confirmed the result yet; zero when confirmed.
	pendingSince time.Time
	// terminating: ids whose termination the plugin requested (AWS accepted
	// it or a describe confirmed it), with when, until they leave the
	// group, so a snapshot older than the request cannot make Decrease
	// terminate (and count) them twice.
	terminating map[string]time.Time
	// retainedAsked: Terminating:Retained members the plugin asked to
	// terminate in their current retained episode, with when; cleared
	// once a later describe shows them out of that state.
	retainedAsked map[string]time.Time
	// decremented: ids whose departure desired capacity already accounts
	// for, or may (a decrementing terminate whose answer was lost, or
	// the plugin lowering desired for an instance AWS was reclaiming), so
	// Decrease never lowers desired capacity for them (again).
	decremented map[string]bool
	// form is how TerminateInstanceInAutoScalingGroup is called (formUnknown
	// until the endpoint has shown whether it has the batch form).
	form atomic.Int32

	details   detailsCache
	passwords passwordCache

	readyWhen ReadyWhen
	gate      *statusGate // ReadyStatusOK only
}

// NewGroup returns a Group; it makes no API calls.
func NewGroup(o GroupOptions) *Group {
	g := &Group{
		name:                 o.Name,
		region:               o.Region,
		clients:              o.Clients,
		pubKey:               o.PublicKey,
		now:                  o.Now,
		consistencyWindow:    o.ConsistencyWindow,
		terminateConcurrency: o.TerminateConcurrency,
		passwordPoll:         o.PasswordPollInterval,
		passwordAttempts:     o.PasswordPollAttempts,
		settledReuse:         o.SettledReuse,
		waitReuse:            o.WaitReuse,
		seen:                 map[string]time.Time{},
		terminating:          map[string]time.Time{},
		retainedAsked:        map[string]time.Time{},
		decremented:          map[string]bool{},
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.consistencyWindow <= 0 {
		g.consistencyWindow = DefaultConsistencyWindow
	}
	if g.terminateConcurrency <= 0 {
		g.terminateConcurrency = DefaultTerminateConcurrency
	}
	if g.waitReuse <= 0 {
		g.waitReuse = DefaultWaitReuse
	}
	if g.passwordPoll <= 0 {
		g.passwordPoll = DefaultPasswordPollInterval
	}
	if g.passwordAttempts <= 0 {
		g.passwordAttempts = DefaultPasswordPollAttempts
	}
	g.details.init()
	g.passwords.init()
	g.readyWhen = o.ReadyWhen
	if g.readyWhen == ReadyStatusOK {
		g.gate = &statusGate{every: o.StatusCheckEvery, passed: map[string]bool{}, impaired: map[string]bool{}}
	}
	return g
}

// Name is the group's name.
func (g *Group) Name() string { return g.name }

// WaitReuse is how long an Update may answer from a settled snapshot while
// the plugin only waits on AWS (GroupOptions.WaitReuse), which AWS is taken
// to need at least to shut an instance down and drop it from the group.
func (g *Group) WaitReuse() time.Duration { return g.waitReuse }

// Drift is a desired capacity the plugin did not set.
type Drift struct {
	Expected int // what the plugin set (including its own later changes)
	Observed int // what the group reports
}

// Refresh describes the group once and makes the result the latest
// snapshot. drift is non-nil when desired capacity changed outside the
// plugin; the plugin then adopts the observed value.
func (g *Group) Refresh(ctx context.Context) (snap *Snapshot, drift *Drift, err error) {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	snap, drift, err = g.refreshLocked(ctx)
	if err == nil {
		// opMu held: every scaling call counted ended before the describe.
		g.opsSinceRefresh = 0
	}
	return snap, drift, err
}

// RefreshUnlessSettled is Refresh, except that it answers with the latest
// snapshot (reused = true, no API call) while nothing in the group moves
// but the plugin's own terminations and reuse(snapshot, waiting) holds:
// every member in service and healthy or one the plugin terminated that a
// describe already showed terminating, desired capacity equal to the other
// members' capacity, no change of the plugin's own unconfirmed or
// requested since. The snapshot is reused while younger than SettledReuse,
// or WaitReuse when the plugin waits on AWS (waiting): its own
// terminations to complete, while each was requested less than WaitReuse
// ago (AWS takes longer than that to shut an instance down, so such a
// describe could not show one gone), or members' status checks to pass
// (ReadyStatusOK). fleeting polls every 2 s while it sees any instance
// deleting or creating: a spot instance under notice still in service,
// for up to AWS's two minutes; each instance the plugin terminates, for
// as long as AWS takes to shut it down; each member held back until its
// status checks pass (asked for all the same, at their own pace). Nothing the
// plugin does moves the group then, and what AWS or an operator does is
// seen that much later.
func (g *Group) RefreshUnlessSettled(ctx context.Context, reuse func(snap *Snapshot, waiting bool) bool) (snap *Snapshot, drift *Drift, reused bool, err error) {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	if snap, waiting := g.settledSnapshot(); snap != nil && reuse != nil && reuse(snap, waiting) {
		return snap, nil, true, nil
	}
	snap, drift, err = g.refreshLocked(ctx)
	if err == nil {
		g.opsSinceRefresh = 0
	}
	return snap, drift, false, err
}

// settledSnapshot runs with opMu held. waiting: the plugin waits on AWS
// for some members (its own terminations, status checks).
func (g *Group) settledSnapshot() (snap *Snapshot, waiting bool) {
	if g.settledReuse <= 0 || g.opsSinceRefresh > 0 {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	snap = g.snap
	if snap == nil || !g.pendingSince.IsZero() {
		return nil, false
	}
	now := g.now()
	capacity := 0
	for _, i := range snap.Instances {
		if at, ours := g.terminating[i.ID]; ours {
			if i.Phase != PhaseTerminating && i.Phase != PhaseTerminated {
				return nil, false // not yet seen terminating, or retained
			}
			if now.Sub(at) >= g.waitReuse {
				return nil, false // AWS may be done with it any moment now
			}
			waiting = true
			continue
		}
		if g.decremented[i.ID] && (i.Phase == PhaseStandby || i.Phase == PhaseInService) {
			continue // desired capacity no longer counts it (a spot notice)
		}
		if i.Phase != PhaseInService || !i.Healthy() {
			return nil, false
		}
		w := 1
		if i.WeightedCapacity != "" {
			n, err := strconv.Atoi(i.WeightedCapacity)
			if err != nil {
				return nil, false
			}
			w = n
		}
		capacity += w
	}
	if !waiting && g.gate != nil {
		waiting = g.gate.waiting(snap)
	}
	maxAge := g.settledReuse
	if waiting {
		maxAge = min(maxAge, g.waitReuse)
	}
	if capacity != snap.Desired || now.Sub(snap.TakenAt) >= maxAge {
		return nil, false
	}
	return snap, waiting
}

// refreshLocked runs with opMu held.
func (g *Group) refreshLocked(ctx context.Context) (*Snapshot, *Drift, error) {
	return g.describeLocked(ctx, true)
}

// observeLocked describes the group without judging desired capacity: for
// confirming an ambiguous change, whose effect the caller accounts for
// itself (judging first would call the plugin's own change drift).
func (g *Group) observeLocked(ctx context.Context) (*Snapshot, error) {
	snap, _, err := g.describeLocked(ctx, false)
	return snap, err
}

// describeLocked runs with opMu held.
func (g *Group) describeLocked(ctx context.Context, judge bool) (*Snapshot, *Drift, error) {
	start := g.now()
	snap, err := describeGroup(ctx, g.clients.AutoScaling, g.name, g.region, start)
	if err != nil {
		return nil, nil, err
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	var drift *Drift
	switch {
	case g.snap == nil:
		g.expected = snap.Desired
	case !judge:
	case snap.Desired == g.expected:
		g.pendingSince = time.Time{}
	case !g.pendingSince.IsZero() && g.now().Sub(g.pendingSince) < g.consistencyWindow:
		// The plugin's own change is not visible yet (eventual consistency).
	default:
		drift = &Drift{Expected: g.expected, Observed: snap.Desired}
		g.expected = snap.Desired
		g.pendingSince = time.Time{}
	}

	for _, i := range snap.Instances {
		g.seen[i.ID] = start
	}
	for id, at := range g.seen {
		if start.Sub(at) > forgetAfter {
			delete(g.seen, id)
		}
	}
	for id := range g.terminating {
		if _, ok := snap.Instance(id); !ok {
			delete(g.terminating, id)
		}
	}
	for id := range g.decremented {
		if _, ok := snap.Instance(id); !ok {
			delete(g.decremented, id)
		}
	}
	for id, at := range g.retainedAsked {
		// A describe that started after the request and shows the instance
		// out of Terminating:Retained ends the episode: should it be
		// retained again, it is terminated again.
		if inst, ok := snap.Instance(id); !ok || (inst.Phase != PhaseRetained && start.After(at)) {
			delete(g.retainedAsked, id)
		}
	}
	g.details.retain(snap)
	g.passwords.retain(snap)
	g.snap = snap
	return snap, drift, nil
}

// Latest is the latest snapshot, nil before the first Refresh.
func (g *Group) Latest() *Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.snap
}

// latestOrRefresh runs with opMu held, first thing in every scaling call.
func (g *Group) latestOrRefresh(ctx context.Context) (*Snapshot, error) {
	g.opsSinceRefresh++
	if s := g.Latest(); s != nil {
		return s, nil
	}
	s, _, err := g.refreshLocked(ctx)
	return s, err
}

// ownChange records a desired capacity the plugin just set.
func (g *Group) ownChange(desired int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expected = desired
	g.pendingSince = g.now()
}

// base is the desired capacity Increase builds on: the plugin's own
// expectation (which includes its changes a describe may not show yet), or
// the members filling capacity when there are more of them. That covers a
// desired capacity lowered outside the plugin on a protected group (raising
// it from there would launch nothing) and a terminate that raced an
// interruption (no decrement happened). Erring high costs an idle
// instance; erring low breaks a promise made to fleeting.
func (g *Group) base(snap *Snapshot) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(g.expected, g.fillingLocked(snap))
}

// fillingLocked counts the members that fill desired capacity as the
// plugin accounts for it: launching or in service, less the members the
// plugin terminated (a snapshot taken before or lagging behind the
// terminate may still show them live) and the members desired capacity
// no longer counts (lowered for a spot interruption notice while still in
// service). g.mu held.
func (g *Group) fillingLocked(snap *Snapshot) int {
	n := 0
	for _, i := range snap.Instances {
		if _, ours := g.terminating[i.ID]; i.Phase.CountsTowardDesired() && !ours && !g.decremented[i.ID] {
			n++
		}
	}
	return n
}

// leftOut counts the members that fill capacity although desired capacity
// no longer counts them (lowered for a spot interruption notice).
func (g *Group) leftOut(snap *Snapshot) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, i := range snap.Instances {
		if i.Phase.CountsTowardDesired() && g.decremented[i.ID] {
			n++
		}
	}
	return n
}

// terminationRequested reports whether the plugin already terminated id.
func (g *Group) terminationRequested(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.terminating[id]
	return ok
}

// wasMember reports whether id was ever seen in the group.
func (g *Group) wasMember(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.seen[id]
	return ok
}
