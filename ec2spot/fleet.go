package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Fleet is the one door to the AWS floor: it owns the group (desired
// capacity, members, terminations, connections), the spot features
// (signals, launch failures, the fleet shape) and the on-demand fallback,
// and calls them in their order. The provider calls Fleet only, Open
// first.
type Fleet struct {
	o     FleetOptions
	group *Group
	spot  *Spot // nil until Open
}

// FleetOptions configure a Fleet.
type FleetOptions struct {
	Group GroupOptions
	Spot  SpotOptions
	// Synchronous: Increase launches with LaunchInstances
	// (launch_mode = "synchronous") instead of raising desired capacity.
	Synchronous bool
}

// NewFleet returns a Fleet; it makes no API calls.
func NewFleet(o FleetOptions) *Fleet {
	return &Fleet{o: o, group: NewGroup(o.Group)}
}

// Name is the group's name.
func (f *Fleet) Name() string { return f.group.Name() }

// Open reads the group, restores an on-demand fallback an earlier process
// left in force and reconciles the fleet shape; the snapshot is the group
// as it is then. It starts nothing (see Start).
func (f *Fleet) Open(ctx context.Context) (*Snapshot, error) {
	snap, _, err := f.group.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	// After the first describe: what Spot takes as its start is when the
	// group answered.
	f.spot = spotFor(f.group, f.o.Spot)
	if err := f.spot.Init(ctx); err != nil {
		return nil, err
	}
	if f.o.Spot.Fleet != nil {
		// The setup check must see the shape the config asks for.
		if snap, _, err = f.group.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// spotFor wires the spot features to g: g's clients unless o names others.
func spotFor(g *Group, o SpotOptions) *Spot {
	if o.Clients.AutoScaling == nil {
		o.Clients = g.clients
	}
	return newSpot(g, o)
}

// CheckSetup checks the group's settings a runner depends on.
func (f *Fleet) CheckSetup(ctx context.Context, snap *Snapshot) ([]Finding, error) {
	return f.group.CheckSetup(ctx, snap)
}

// LaunchHooks are the group's launch lifecycle hooks.
func (f *Fleet) LaunchHooks(ctx context.Context) ([]LaunchHook, error) {
	return f.group.LaunchHooks(ctx)
}

// Preflight probes the permissions o names.
func (f *Fleet) Preflight(ctx context.Context, o PreflightOptions) (*PreflightReport, error) {
	return f.group.Preflight(ctx, o)
}

// Start starts the interruption queue consumer, if a queue is configured;
// after a successful Open.
func (f *Fleet) Start() {
	if f.spot != nil {
		f.spot.Start()
	}
}

// Close stops the queue consumer and ends an on-demand fallback in force,
// within a couple of seconds (Spot.Stop). It deletes nothing.
func (f *Fleet) Close(ctx context.Context) { f.spot.Stop(ctx) }

// Refreshed is what one Update learnt about the group.
type Refreshed struct {
	Snapshot *Snapshot
	// Drift: desired capacity changed outside the plugin (adopted).
	Drift *Drift
	// NotReady: in-service members the readiness gate holds back;
	// NotReadyErr says why some could not be checked.
	NotReady    map[string]bool
	NotReadyErr error
	// Impaired: members newly seen failing their status checks.
	Impaired []string
}

// UpdateResult is what Update did after the report.
type UpdateResult struct {
	// Retained: the terminations of members the group retained after an
	// abandoned termination lifecycle hook; RetainedErr when that failed
	// as a whole.
	Retained    []DecreaseOutcome
	RetainedErr error
}

// Update describes the group once (beside it, a spot request poll when
// one is due) or reuses a settled snapshot while a spot instance under
// notice is reported deleting, the plugin's own terminations are under
// way or members await their status checks, applies the spot signals, launch failures
// and fallback, checks readiness, hands the result to report, and then
// terminates members the group retained. On a failed describe it returns
// the error and report is not called.
func (f *Fleet) Update(ctx context.Context, report func(Refreshed)) (UpdateResult, error) {
	// The spot poll needs no member list: run it beside the describe, so an
	// Update costs one round trip.
	poll := f.spot.StartPoll(ctx)
	snap, drift, _, err := f.group.RefreshUnlessSettled(ctx, func(snap *Snapshot, waiting bool) bool {
		return f.spot.SnapshotReusable(snap, waiting, f.group.WaitReuse())
	})
	if err != nil {
		poll.Wait()
		return UpdateResult{}, err
	}
	f.spot.ObservePolled(ctx, snap, poll)
	r := Refreshed{Snapshot: snap, Drift: drift}
	r.NotReady, r.NotReadyErr = f.group.NotReady(ctx, snap)
	r.Impaired = f.group.NewlyImpaired()
	report(r)
	var res UpdateResult
	res.Retained, res.RetainedErr = f.group.TerminateRetained(ctx, snap)
	return res, nil
}

// IncreaseHold is why Increase requested nothing: launches keep failing
// for lack of capacity and no on-demand fallback is in force.
type IncreaseHold struct {
	RetryIn time.Duration
	Cause   *LaunchFailure // nil when unknown
	// Fresh: the first time this back-off period is reported.
	Fresh bool
}

// Increased is the outcome of Fleet.Increase.
type Increased struct {
	IncreaseResult
	// Hold is non-nil when Increase held back (Requested 0, no call).
	Hold *IncreaseHold
	// PoolErrors: pools a synchronous launch found short.
	PoolErrors []PoolError
}

// Increase requests up to n more instances: nothing while launches keep
// failing for lack of capacity, else by the configured launch mode.
func (f *Fleet) Increase(ctx context.Context, n int) (Increased, error) {
	if hold, lf, fresh := f.spot.IncreaseHold(); hold > 0 {
		return Increased{Hold: &IncreaseHold{RetryIn: hold, Cause: lf, Fresh: fresh}}, nil
	}
	var (
		out Increased
		err error
	)
	if f.o.Synchronous {
		out.IncreaseResult, out.PoolErrors, err = f.group.launchSync(ctx, n, f.spot.syncLaunch())
	} else {
		out.IncreaseResult, err = f.group.Increase(ctx, n)
	}
	return out, err
}

// Decrease requests removal of the given members (Group.Decrease).
func (f *Fleet) Decrease(ctx context.Context, ids []string) ([]DecreaseOutcome, error) {
	return f.group.Decrease(ctx, ids)
}

// SingleFormTerminate reports whether the endpoint rejected the batch form
// of TerminateInstanceInAutoScalingGroup.
func (f *Fleet) SingleFormTerminate() bool { return f.group.SingleFormTerminate() }

// Connect refuses an instance AWS is taking or that is not ready for a job,
// then looks it up and runs credentials with its details; the instance's
// spot request, when stale, is checked beside the credentials and the
// answer waited for before Connect answers. Errors carry no instance id.
func (f *Fleet) Connect(ctx context.Context, id string, credentials func(InstanceDetails) error) (InstanceDetails, error) {
	if v := f.spot.Verdict(id); v.Deleting {
		return InstanceDetails{}, takenError(v)
	}
	if why := f.group.NotReadyReason(id); why != "" {
		return InstanceDetails{}, fmt.Errorf("not ready for jobs: %s", why)
	}
	d, err := f.group.Details(ctx, id)
	if err != nil {
		return InstanceDetails{}, err
	}
	// The market is known now (on-demand needs no check).
	f.spot.Prefetch(ctx, id)
	if err := credentials(d); err != nil {
		return d, err
	}
	// Without an interruption queue, a notice may have come since the last
	// Update's poll: never hand out on an answer older than spot_check_max_age.
	if v := f.spot.FreshVerdict(ctx, id); v.Deleting {
		return d, takenError(v)
	}
	return d, nil
}

func takenError(v Verdict) error { return errors.New("AWS is taking the instance: " + v.Reason) }

// PushKey pushes the public key (GroupOptions.PublicKey) to the instance
// for user with EC2 Instance Connect and returns when it stops being
// accepted.
func (f *Fleet) PushKey(ctx context.Context, d InstanceDetails, user string) (time.Time, error) {
	return f.group.PushKey(ctx, d, user)
}

// WindowsPassword is the instance's Administrator password, decrypted with
// the launch key pair's private key.
func (f *Fleet) WindowsPassword(ctx context.Context, id string, privateKeyPEM []byte) (string, error) {
	return f.group.WindowsPassword(ctx, id, privateKeyPEM)
}

// Verdict is what the spot signals say against the instance.
func (f *Fleet) Verdict(id string) Verdict { return f.spot.Verdict(id) }

// Unhealthy says why the instance must get no new job ("" = healthy): a
// signal against it (checked again first when the last spot request
// answer is older than the check's max age), or the latest snapshot shows
// it unhealthy, leaving, or gone.
func (f *Fleet) Unhealthy(ctx context.Context, id string) string {
	if v := f.spot.Verdict(id); v.Unhealthy {
		return id + ": " + v.Reason
	}
	snap := f.group.Latest()
	if snap == nil {
		return ""
	}
	inst, ok := snap.Instance(id)
	if !ok {
		return id + " is no longer in the auto scaling group"
	}
	if !inst.Healthy() {
		return fmt.Sprintf("the auto scaling group marks %s %s", id, inst.HealthStatus)
	}
	switch inst.Phase {
	case PhaseTerminating, PhaseRetained, PhaseTerminated, PhaseStandby, PhaseDetaching, PhaseWarmPool:
		return fmt.Sprintf("%s is %s", id, inst.LifecycleState)
	case PhaseLaunching, PhaseInService, PhaseQuarantined, PhaseReplacingRootVolume, PhaseUnknown:
	}
	if v := f.spot.FreshVerdict(ctx, id); v.Unhealthy {
		return id + ": " + v.Reason
	}
	return ""
}

// StandingByForNotice reports whether inst is in Standby under a spot
// interruption notice: moved there for the notice (LowerForNotices), so
// still AWS's to take and reported like any doomed member.
func (f *Fleet) StandingByForNotice(inst Instance) bool {
	return inst.Phase == PhaseStandby && !f.spot.InterruptedAt(inst.ID).IsZero()
}

// Market is "spot", "on-demand" or "unknown".
func (f *Fleet) Market(id string) string { return f.spot.Market(id) }

// InterruptedAt is when AWS gave the interruption notice of an instance it
// takes; zero when there is none.
func (f *Fleet) InterruptedAt(id string) time.Time { return f.spot.InterruptedAt(id) }

// Latest is the latest snapshot, nil before Open.
func (f *Fleet) Latest() *Snapshot { return f.group.Latest() }
