package ec2spot

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// fakeClock is a settable clock for the freshness rules.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// checkedSpotGroup is an all-spot group with n instances in service, its
// markets learnt, polled at most every 10 s and checked when the answer is
// 3 s old, on a fake clock.
func checkedSpotGroup(t *testing.T, s *awssim.Sim, n int, spec awssim.GroupSpec) (*Group, *Spot, *fakeClock, []string) {
	t.Helper()
	clk := newFakeClock()
	g, sp, _ := spotGroup(t, s, spec, SpotOptions{Now: clk.now, PollInterval: 10 * time.Second, CheckMaxAge: 3 * time.Second})
	if _, err := g.Increase(testCtx(t), n); err != nil {
		t.Fatal(err)
	}
	ids := inService(t, g, n)
	observe(t, g, sp) // learns the markets
	s.ResetCalls()
	return g, sp, clk, ids
}

func spotCalls(s *awssim.Sim) int { return s.CallCount("ec2", "DescribeSpotInstanceRequests") }

// Without any Update, a notice visible in the API is seen by the first
// FreshVerdict once the last answer is CheckMaxAge old: one call filtered
// on instance ids, which also freshens the other members and stands in
// for the next Update's poll.
func TestFreshVerdictSeesANoticeWithoutAnUpdate(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Hour}) // AWS takes it long after the test
	rec := &recordingEC2{}
	g, sp, clk, ids := checkedSpotGroup(t, s, 3, awssim.GroupSpec{})
	rec.EC2API, sp.clients.EC2 = sp.clients.EC2, rec
	victim := ids[0]
	if err := s.Interrupt(victim, "terminate"); err != nil {
		t.Fatal(err)
	}

	clk.advance(3 * time.Second)
	if v := sp.FreshVerdict(testCtx(t), victim); v.Deleting || spotCalls(s) != 0 {
		t.Fatalf("at the max age: verdict %+v after %d calls; want the last answer trusted, no call", v, spotCalls(s))
	}
	clk.advance(time.Millisecond)
	if v := sp.FreshVerdict(testCtx(t), victim); !v.Deleting || !v.Unhealthy || !strings.Contains(v.Reason, "marked-for-termination") {
		t.Fatalf("past the max age: verdict %+v, want deleting from marked-for-termination", v)
	}
	for _, id := range ids[1:] {
		if v := sp.FreshVerdict(testCtx(t), id); v.Unhealthy {
			t.Errorf("uninterrupted %s: verdict %+v", id, v)
		}
	}
	observe(t, g, sp) // an Update right after: its poll is not due
	if n := spotCalls(s); n != 1 {
		t.Errorf("%d DescribeSpotInstanceRequests calls, want 1 (one check for every member, standing in for the Update's poll)", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.polls) != 1 || len(rec.polls[0]) != 1 || !strings.HasPrefix(rec.polls[0][0], "instance-id="+victim+",") ||
		strings.Count(rec.polls[0][0], "i-") != 3 {
		t.Errorf("check filters %v, want one instance-id filter naming %s first and the 3 members", rec.polls, victim)
	}
}

// Concurrent ConnectInfo and Heartbeat callers share one check.
func TestConcurrentFreshVerdictsShareOneCall(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Hour}) // AWS takes it long after the test
	_, sp, clk, ids := checkedSpotGroup(t, s, 4, awssim.GroupSpec{})
	if err := s.Interrupt(ids[2], "terminate"); err != nil {
		t.Fatal(err)
	}
	clk.advance(4 * time.Second)
	var wg sync.WaitGroup
	verdicts := make([]Verdict, 4*len(ids))
	for n := range verdicts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verdicts[n] = sp.FreshVerdict(testCtx(t), ids[n%len(ids)])
		}()
	}
	wg.Wait()
	if n := spotCalls(s); n != 1 {
		t.Errorf("%d concurrent callers made %d DescribeSpotInstanceRequests calls, want 1", len(verdicts), n)
	}
	for n, v := range verdicts {
		if want := ids[n%len(ids)] == ids[2]; v.Deleting != want {
			t.Errorf("caller %d (%s): verdict %+v, deleting want %v", n, ids[n%len(ids)], v, want)
		}
	}
}

// On-demand members cost no check; a member of unknown market is checked
// once and then known.
func TestFreshVerdictSkipsOnDemand(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	_, sp, clk, ids := checkedSpotGroup(t, s, 2, awssim.GroupSpec{OnDemandPercentageAboveBase: 100})
	clk.advance(time.Minute)
	for _, id := range ids {
		sp.FreshVerdict(testCtx(t), id)
	}
	if n := spotCalls(s); n != 0 {
		t.Errorf("on-demand members cost %d calls, want 0", n)
	}
	sp.mu.Lock()
	delete(sp.market, ids[0])
	sp.mu.Unlock()
	sp.FreshVerdict(testCtx(t), ids[0])
	clk.advance(time.Minute)
	sp.FreshVerdict(testCtx(t), ids[0])
	if n := spotCalls(s); n != 1 {
		t.Errorf("unknown market: %d calls, want 1 (the check learns it is on-demand)", n)
	}
}

// Updates within PollInterval of the last poll make no spot request
// call; the next poll is due PollInterval after the last: 1 poll per 5
// Updates of fleeting's 2 s loop, where every Update polled before.
func TestSpotPollRunsAtItsOwnCadence(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g, sp, clk, _ := checkedSpotGroup(t, s, 2, awssim.GroupSpec{}) // polled at t0
	var got []int
	for range 11 { // t0 … t0+20s, fleeting's 2 s loop
		observe(t, g, sp)
		got = append(got, spotCalls(s))
		clk.advance(2 * time.Second)
	}
	want := []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2}
	if !slices.Equal(got, want) {
		t.Errorf("spot polls after each Update = %v, want %v", got, want)
	}
}

// A settled group (all in service, nothing asked of it) is described at
// most every SettledReuse while the caller's condition holds; any scaling
// call, pending launch or the plugin's own termination makes the next
// refresh describe.
func TestRefreshUnlessSettled(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	clk := newFakeClock()
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 4, Desired: 2}, func(o *GroupOptions) {
		o.Now, o.SettledReuse = clk.now, 10*time.Second
	})
	ids := inService(t, g, 2)
	describes := func() int { return s.CallCount("autoscaling", "DescribeAutoScalingGroups") }
	reuse := true // the caller's condition (a spot instance under notice, reported deleting)
	refresh := func() bool {
		t.Helper()
		_, _, reused, err := g.RefreshUnlessSettled(testCtx(t), func(*Snapshot, bool) bool { return reuse })
		if err != nil {
			t.Fatal(err)
		}
		return reused
	}

	s.ResetCalls()
	for range 4 {
		clk.advance(2 * time.Second)
		if !refresh() {
			t.Fatal("settled group described again within SettledReuse")
		}
	}
	clk.advance(2 * time.Second)
	if refresh() || describes() != 1 {
		t.Fatalf("at SettledReuse: reused or %d describes, want one describe", describes())
	}

	s.SetSpeed(0.001) // AWS's clock stands still: the launch stays pending
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	for range 3 { // launching: every refresh describes
		if refresh() {
			t.Fatal("reused a snapshot while an instance launches")
		}
	}
	s.SetSpeed(100)
	inService(t, g, 3)
	if !refresh() {
		t.Error("settled again after the launch, yet described")
	}
	if _, err := g.Decrease(testCtx(t), ids[:1]); err != nil {
		t.Fatal(err)
	}
	if refresh() {
		t.Error("reused a snapshot after a Decrease")
	}
	inService(t, g, 2)
	reuse = false
	if refresh() {
		t.Error("reused a snapshot although the caller's condition does not hold")
	}
}

// fleeting polls every 2 s while an instance the plugin terminated shuts
// down: once a describe shows the member terminating, the group is not
// described again until WaitReuse after the request (AWS takes longer than
// that to shut an instance down), then at every Update, so fleeting sees
// it gone no later; something else moving (here: a member terminated by
// hand) makes every Update describe.
func TestRefreshWhileTerminating(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	clk := newFakeClock()
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 4, Desired: 3}, func(o *GroupOptions) {
		o.Now, o.SettledReuse, o.WaitReuse = clk.now, 30*time.Second, 10*time.Second
	})
	ids := inService(t, g, 3)
	describes := func() int { return s.CallCount("autoscaling", "DescribeAutoScalingGroups") }
	refresh := func() (*Snapshot, bool) {
		t.Helper()
		snap, _, reused, err := g.RefreshUnlessSettled(testCtx(t), func(_ *Snapshot, waiting bool) bool { return waiting })
		if err != nil {
			t.Fatal(err)
		}
		return snap, reused
	}
	terminate := func(id string) {
		t.Helper()
		if _, err := g.Decrease(testCtx(t), []string{id}); err != nil {
			t.Fatal(err)
		}
		snap, reused := refresh()
		if reused {
			t.Fatal("reused a snapshot after a Decrease")
		}
		if i, ok := snap.Instance(id); !ok || i.Phase != PhaseTerminating {
			t.Fatalf("terminated member: %+v in snapshot %v, want terminating", i, ok)
		}
	}

	s.SetSpeed(0.001) // AWS's clock stands still: the terminations stay under way
	s.ResetCalls()
	terminate(ids[0])
	for range 4 {
		clk.advance(2 * time.Second)
		if _, reused := refresh(); !reused {
			t.Fatal("described again within WaitReuse of the plugin's own termination")
		}
	}
	for range 3 {
		clk.advance(2 * time.Second)
		if _, reused := refresh(); reused {
			t.Fatal("reused a snapshot although the termination may be done any moment")
		}
	}
	if n := describes(); n != 4 {
		t.Errorf("%d describes in 8 Updates, want 4 (the confirming one, then each from WaitReuse on)", n)
	}

	s.SetSpeed(100)
	eventually(t, "the first termination over", func() bool {
		snap, _, err := g.Refresh(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		_, there := snap.Instance(ids[0])
		return !there
	})
	s.SetSpeed(0.001)
	terminate(ids[1])
	clk.advance(2 * time.Second)
	if _, reused := refresh(); !reused {
		t.Fatal("described again within WaitReuse of the plugin's own termination")
	}
	if err := s.TerminateExternally(ids[2]); err != nil {
		t.Fatal(err)
	}
	clk.advance(8 * time.Second) // WaitReuse after the last describe: it sees the member go
	for range 3 {
		if _, reused := refresh(); reused {
			t.Fatal("reused a snapshot while a member terminated by hand leaves")
		}
		clk.advance(time.Second)
	}
}

// A spot instance under notice keeps fleeting at 2 s for its two minutes:
// the snapshot is reusable until the notice period has been over for the
// least time AWS takes to shut an instance down and drop it from the group,
// then not (it may be gone any moment, and fleeting counts it toward
// max_instances until it sees it gone); a notice without a period
// (hibernate) never lets it be reused.
func TestSnapshotReusableUntilANoticedInstanceMayBeGone(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{NoticePeriod: time.Hour})
	g, sp, clk, ids := checkedSpotGroup(t, s, 2, awssim.GroupSpec{})
	const minShutdown = 10 * time.Second
	snap := g.Latest()
	if sp.SnapshotReusable(snap, false, minShutdown) {
		t.Fatal("reusable with nothing to wait for")
	}
	noticed := clk.now()
	sp.record(ids[0], Signal{Kind: SignalInterruption, Source: "test", Detail: "terminate", NoticeTime: noticed})
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{2 * time.Minute, true},
		{2*time.Minute + minShutdown - time.Second, true},
		{2*time.Minute + minShutdown, false},
		{5 * time.Minute, false},
	} {
		clk.advance(noticed.Add(c.at).Sub(clk.now()))
		if got := sp.SnapshotReusable(snap, false, minShutdown); got != c.want {
			t.Errorf("%s after the notice: reusable %v, want %v", c.at, got, c.want)
		}
	}

	s2 := fastSim(t, awssim.Options{NoticePeriod: time.Hour})
	g2, sp2, clk2, ids2 := checkedSpotGroup(t, s2, 2, awssim.GroupSpec{})
	sp2.record(ids2[0], Signal{Kind: SignalInterruption, Source: "test", Detail: "hibernate", NoticeTime: clk2.now()})
	if sp2.SnapshotReusable(g2.Latest(), true, minShutdown) {
		t.Error("reusable under a hibernation notice, which gives no period")
	}
}

// With ready_when = "status-ok", members waiting for their status checks
// are asked about at most every StatusCheckEvery, not on every Update
// (EC2 runs the checks once a minute); one that passed is seen at the next
// turn.
func TestStatusChecksArePaced(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{StatusCheckDelay: 24 * time.Hour})
	clk := newFakeClock()
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 4, Desired: 2}, func(o *GroupOptions) {
		o.Now, o.ReadyWhen, o.StatusCheckEvery = clk.now, ReadyStatusOK, 3*time.Second
	})
	inService(t, g, 2)
	snap := g.Latest()
	s.ResetCalls()
	var calls []int
	for range 4 { // fleeting's 2 s pace
		notReady, err := g.NotReady(testCtx(t), snap)
		if err != nil || len(notReady) != 2 {
			t.Fatalf("waiting members: %v, %v", notReady, err)
		}
		calls = append(calls, s.CallCount("ec2", "DescribeInstanceStatus"))
		clk.advance(2 * time.Second)
	}
	if want := []int{1, 1, 2, 2}; !slices.Equal(calls, want) {
		t.Errorf("DescribeInstanceStatus after each Update: %v, want %v", calls, want)
	}
	s.SetStatusCheckDelay(-1) // the checks pass
	notReady, err := g.NotReady(testCtx(t), snap)
	if err != nil || len(notReady) != 0 {
		t.Errorf("at the next turn after the checks passed: not ready %v, %v", notReady, err)
	}
}

// An instance AWS took without an interruption (terminated by hand, a
// health replacement) after the last describe: its spot request says so
// (instance-terminated-by-user), and the check that Heartbeat runs on a
// stale answer must not pass it on the old snapshot. (Property test: a
// noticed instance health-replaced before any Update passed Heartbeat.)
func TestFreshVerdictSeesAnInstanceTakenWithoutNotice(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	_, sp, clk, ids := checkedSpotGroup(t, s, 2, awssim.GroupSpec{})
	victim := ids[0]
	if err := s.TerminateExternally(victim); err != nil {
		t.Fatal(err)
	}
	clk.advance(3*time.Second + time.Millisecond)
	if v := sp.FreshVerdict(testCtx(t), victim); !v.Unhealthy || !strings.Contains(v.Reason, "instance-terminated-by-user") {
		t.Fatalf("verdict %+v, want unhealthy from instance-terminated-by-user", v)
	}
	if v := sp.FreshVerdict(testCtx(t), ids[1]); v.Unhealthy {
		t.Errorf("the other member: verdict %+v", v)
	}
}
