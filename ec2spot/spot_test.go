package ec2spot

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

var defaultTypes = []string{"t3.micro", "t3a.micro", "m5.large"}

// spotGroup creates an all-spot group "runners" (above base) and its Spot.
func spotGroup(t *testing.T, s *awssim.Sim, spec awssim.GroupSpec, o SpotOptions) (*Group, *Spot, *syncBuffer) {
	t.Helper()
	if spec.MaxSize == 0 {
		spec.MaxSize = 6
	}
	g := newTestGroup(t, s, spec)
	logs := &syncBuffer{}
	o.Log = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	sp := spotFor(g, o)
	if err := sp.Init(testCtx(t)); err != nil {
		t.Fatalf("Init: %v", err)
	}
	sp.Start()
	t.Cleanup(func() { sp.Stop(context.Background()) })
	return g, sp, logs
}

func observe(t *testing.T, g *Group, sp *Spot) *Snapshot {
	t.Helper()
	snap, _, err := g.Refresh(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	sp.Observe(testCtx(t), snap)
	return snap
}

// recordingEC2 records the filters of each spot request poll, as
// "name=value,value" (none: unfiltered).
type recordingEC2 struct {
	EC2API
	mu    sync.Mutex
	polls [][]string
}

func (r *recordingEC2) DescribeSpotInstanceRequests(ctx context.Context, in *ec2.DescribeSpotInstanceRequestsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSpotInstanceRequestsOutput, error) {
	r.mu.Lock()
	var filters []string
	for _, f := range in.Filters {
		filters = append(filters, aws.ToString(f.Name)+"="+strings.Join(f.Values, ","))
	}
	r.polls = append(r.polls, filters)
	r.mu.Unlock()
	return r.EC2API.DescribeSpotInstanceRequests(ctx, in, opts...)
}

func TestSpotPollingAsksOnlyAboutSpotAndFindsTheInterruption(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	rec := &recordingEC2{}
	spec := awssim.GroupSpec{Name: "runners", MaxSize: 6, OnDemandBase: 1}
	if err := s.CreateGroup(spec); err != nil {
		t.Fatal(err)
	}
	cfg := testAWSConfig(t)
	clients := NewClients(cfg)
	rec.EC2API = clients.EC2
	clients.EC2 = rec
	g := NewGroup(GroupOptions{Name: "runners", Region: cfg.Region, Clients: clients})
	logs := &syncBuffer{}
	sp := spotFor(g, SpotOptions{Log: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})})

	ctx := testCtx(t)
	if _, err := g.Increase(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ids := inService(t, g, 3)
	observe(t, g, sp) // learns the markets
	rec.mu.Lock()
	if len(rec.polls) != 1 || len(rec.polls[0]) != 0 {
		t.Errorf("learning poll had filters %v, want one unfiltered call", rec.polls)
	}
	rec.polls = nil
	rec.mu.Unlock()
	observe(t, g, sp)

	var spotIDs []string
	for _, id := range ids {
		if inst, _ := s.Instance(id); inst.Market == awssim.Spot {
			spotIDs = append(spotIDs, id)
		}
	}
	rec.mu.Lock()
	want := "status-code=" + strings.Join(interruptionCodes, ",")
	if len(rec.polls) != 1 || len(rec.polls[0]) != 1 || rec.polls[0][0] != want {
		t.Errorf("second poll had filters %v, want one call filtered on %s", rec.polls, want)
	}
	rec.mu.Unlock()
	sp.mu.Lock()
	for _, id := range ids {
		want := marketOnDemand
		if slices.Contains(spotIDs, id) {
			want = marketSpot
		}
		if sp.market[id] != want {
			t.Errorf("market of %s = %q, want %q", id, sp.market[id], want)
		}
	}
	sp.mu.Unlock()

	victim := spotIDs[0]
	if err := s.Interrupt(victim, "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp)
	if v := sp.Verdict(victim); !v.Deleting || !v.Unhealthy || !strings.Contains(v.Reason, "marked-for-termination") {
		t.Errorf("Verdict(%s) = %+v, want deleting and unhealthy from marked-for-termination", victim, v)
	}
	if v := sp.Verdict(spotIDs[1]); v.Unhealthy {
		t.Errorf("uninterrupted instance has verdict %+v", v)
	}
	observe(t, g, sp)
	if n := logs.count("spot interruption notice"); n != 1 {
		t.Errorf("interruption logged %d times, want once:\n%s", n, logs)
	}
	for _, kv := range []string{"instance=" + victim, "instance_type=", "availability_zone=us-east-1", "lifecycle_state=InService", "market=spot", "time_left="} {
		if !strings.Contains(logs.String(), kv) {
			t.Errorf("interruption log lacks %s:\n%s", kv, logs)
		}
	}
}

// An on-demand group is not polled once its markets are known, and an
// interruption in another group of the account is never acted on.
func TestSpotPollingSkipsOnDemandAndIgnoresOtherGroups(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 4, OnDemandPercentageAboveBase: 100}); err != nil {
		t.Fatal(err)
	}
	cfg := testAWSConfig(t)
	clients := NewClients(cfg)
	rec := &recordingEC2{EC2API: clients.EC2}
	clients.EC2 = rec
	g := NewGroup(GroupOptions{Name: "runners", Region: cfg.Region, Clients: clients})
	sp := spotFor(g, SpotOptions{})
	if _, err := g.Increase(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	ids := inService(t, g, 2)
	other := newTestGroup(t, s, awssim.GroupSpec{Name: "other", Desired: 1, MaxSize: 1})
	stranger := inService(t, other, 1)[0]
	if err := s.Interrupt(stranger, "terminate"); err != nil {
		t.Fatal(err)
	}
	observe(t, g, sp) // learns the markets (and sees the stranger's notice)
	rec.mu.Lock()
	rec.polls = nil
	rec.mu.Unlock()
	observe(t, g, sp)
	rec.mu.Lock()
	if len(rec.polls) != 0 {
		t.Errorf("all members on-demand, yet polled: %v", rec.polls)
	}
	rec.mu.Unlock()
	sp.mu.Lock()
	if _, ok := sp.signals[stranger]; ok {
		t.Errorf("recorded a signal for %s, outside the group", stranger)
	}
	for _, id := range ids {
		if sp.market[id] != marketOnDemand {
			t.Errorf("market of %s = %q, want on-demand", id, sp.market[id])
		}
	}
	sp.mu.Unlock()
}

func TestSpotQueueSignals(t *testing.T) {
	t.Parallel()
	for _, policy := range []RebalancePolicy{RebalanceDrain, RebalanceIgnore} {
		t.Run(string(policy), func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			url := s.CreateQueue("interruptions")
			if err := s.SubscribeQueue("interruptions"); err != nil {
				t.Fatal(err)
			}
			s.SetEventDelivery(true, true)
			g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{QueueURL: url, QueueWait: 1, Rebalance: policy})
			if _, err := g.Increase(testCtx(t), 3); err != nil {
				t.Fatal(err)
			}
			ids := inService(t, g, 3)

			for _, body := range []string{"not json", `{"detail-type":"EC2 Spot Instance Interruption Warning","detail":"x"}`,
				`{"detail-type":"EC2 Spot Instance Interruption Warning","detail":{"instance-id":"i-0stranger"}}`,
				`{"detail-type":"EC2 Instance Terminate Successful","detail":{"AutoScalingGroupName":"other","EC2InstanceId":"` + ids[2] + `"}}`} {
				if err := s.SendRawMessage("interruptions", body); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			if err := s.Interrupt(ids[0], "terminate"); err != nil {
				t.Fatal(err)
			}
			if err := s.RecommendRebalance(ids[1]); err != nil {
				t.Fatal(err)
			}
			eventually(t, "queue signal", func() bool { return sp.Verdict(ids[0]).Deleting })
			t.Logf("interruption to unhealthy via the queue: %s", time.Since(start))
			if time.Since(start) > time.Second {
				t.Errorf("queue took %s, want under a second", time.Since(start))
			}
			eventually(t, "rebalance logged", func() bool { return strings.Contains(logs.String(), "rebalance recommendation") })
			v := sp.Verdict(ids[1])
			if v.Deleting || v.Unhealthy != (policy == RebalanceDrain) {
				t.Errorf("rebalance verdict %+v under policy %s", v, policy)
			}
			if v := sp.Verdict(ids[2]); v.Unhealthy {
				t.Errorf("other group's event changed %s: %+v", ids[2], v)
			}
			eventually(t, "queue drained", func() bool { return queueDepth(t, url) == 0 })
			if n := logs.count("spot interruption notice"); n != 1 {
				t.Errorf("duplicated interruption logged %d times:\n%s", n, logs)
			}
		})
	}
}

// queueDepth counts the messages left on the queue, in flight or not.
func queueDepth(t *testing.T, url string) int {
	t.Helper()
	out, err := sqs.NewFromConfig(testAWSConfig(t)).GetQueueAttributes(testCtx(t), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

func TestLaunchFailuresExplainedOnceAndIncreaseBacksOff(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{Speed: 300})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{ActivityPollInterval: time.Millisecond})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "several failed activities", func() bool {
		observe(t, g, sp)
		gr, _ := s.Group("runners")
		failed := 0
		for _, a := range gr.Activities {
			if a.StatusCode == "Failed" {
				failed++
			}
		}
		return failed >= 3
	})
	observe(t, g, sp)
	const cause = "There is no Spot capacity available that matches your request."
	if n := logs.count("auto scaling group could not launch an instance"); n != 1 {
		t.Errorf("launch failure logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), cause) || !strings.Contains(logs.String(), "reason=spot_capacity") || !strings.Contains(logs.String(), "on_demand_fallback") {
		t.Errorf("log lacks cause, reason or hint:\n%s", logs)
	}
	if hold, lf, _ := sp.IncreaseHold(); hold <= 0 || lf == nil || lf.Class != FailureSpotCapacity {
		t.Errorf("IncreaseHold = %s, %+v; want a capacity back-off", hold, lf)
	}

	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, -1)
	}
	inService(t, g, 2)
	observe(t, g, sp)
	if hold, _, _ := sp.IncreaseHold(); hold != 0 {
		t.Errorf("back-off %s after capacity returned", hold)
	}
}

func TestClassifyFailure(t *testing.T) {
	for msg, want := range map[string]FailureClass{
		"There is no Spot capacity available that matches your request.":                                       FailureSpotCapacity,
		"Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available.": FailureSpotCapacity,
		"Could not launch Spot Instances. MaxSpotInstanceCountExceeded - Max spot instance count exceeded.":    FailureSpotQuota,
		"We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-e)":  FailureOnDemandCapacity,
		"You have requested more vCPU capacity than your current vCPU limit of 32 allows":                      FailureQuota,
		"The image id '[ami-0123]' does not exist":                                                             FailureImage,
		"The specified launch template, with template ID lt-1, does not exist.":                                FailureLaunchTemplate,
		"The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64'":     FailureInvalidConfig,
		"New SetDesiredCapacity value 3 is above max value 2":                                                  FailureMaxSize,
		"Something dynamically new": FailureOther,
	} {
		if got, hint := classifyFailure(msg); got != want || hint == "" {
			t.Errorf("classifyFailure(%q) = %s (hint %q), want %s", msg, got, hint, want)
		}
	}
}

func groupODPercentage(t *testing.T, s *awssim.Sim) int {
	t.Helper()
	gr, _ := s.Group("runners")
	return gr.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity
}

func TestFallbackSwitchesHoldsAndRestores(t *testing.T) {
	// Not parallel: its fallback hold is a few hundred real milliseconds,
	// which CPU contention from parallel tests can use up between two checks.
	s := fastSim(t, awssim.Options{Speed: 300})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
		ActivityPollInterval: time.Millisecond,
		Fallback:             &FallbackOptions{After: 300 * time.Millisecond, Hold: 600 * time.Millisecond},
	})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, "switch to on-demand", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	t.Logf("switched after %s", time.Since(start))
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("switched after %s, before after (300ms)", time.Since(start))
	}
	if gr, _ := s.Group("runners"); gr.Tags[FallbackTagKey] != "0" {
		t.Errorf("tag %s = %q, want the original 0", FallbackTagKey, gr.Tags[FallbackTagKey])
	}
	ids := inService(t, g, 2)
	for _, id := range ids {
		if inst, _ := s.Instance(id); inst.Market != awssim.OnDemand {
			t.Errorf("%s is %s during the fallback", id, inst.Market)
		}
	}

	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, -1)
	}
	eventually(t, "restore after hold", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 0 })
	if gr, _ := s.Group("runners"); gr.Tags[FallbackTagKey] != "" {
		t.Errorf("tag left after the restore: %v", gr.Tags)
	}
	for _, msg := range []string{"spot capacity unavailable: switched the group to on-demand", "hold elapsed: restored the original on-demand percentage"} {
		if n := logs.count(msg); n != 1 {
			t.Errorf("%q logged %d times:\n%s", msg, n, logs)
		}
	}
}

func TestFallbackProbeFailsAndBacksOff(t *testing.T) {
	// Not parallel: its fallback hold is a few hundred real milliseconds,
	// which CPU contention from parallel tests can use up between two checks.
	s := fastSim(t, awssim.Options{Speed: 300})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
		ActivityPollInterval: time.Millisecond,
		Fallback:             &FallbackOptions{After: 200 * time.Millisecond, Hold: 300 * time.Millisecond},
	})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "switch", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	inService(t, g, 1)
	eventually(t, "probe", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 0 })
	if _, err := g.Increase(testCtx(t), 1); err != nil { // demand during the probe, spot still out
		t.Fatal(err)
	}
	eventually(t, "switch back", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	if !strings.Contains(logs.String(), "switching the group back to on-demand with a longer hold") || !strings.Contains(logs.String(), "hold=600ms") {
		t.Errorf("no doubled hold logged:\n%s", logs)
	}
}

func TestInitRestoresFallbackLeftByACrash(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Name: "runners", MaxSize: 4})
	// A process died mid-fallback: tag written, percentage switched.
	if err := putFallbackTag(testCtx(t), g.clients.AutoScaling, "runners", 0); err != nil {
		t.Fatal(err)
	}
	if err := setOnDemandPercentage(testCtx(t), g.clients.AutoScaling, "runners", 100); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	sp := spotFor(g, SpotOptions{Log: hclog.New(&hclog.LoggerOptions{Output: logs})})
	if err := sp.Init(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	gr, _ := s.Group("runners")
	if p := gr.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity; p != 0 || gr.Tags[FallbackTagKey] != "" {
		t.Errorf("after Init: percentage %d, tags %v; want 0 and no tag", p, gr.Tags)
	}
	if !strings.Contains(logs.String(), "restored the on-demand percentage an earlier plugin process had switched") {
		t.Errorf("restore not logged:\n%s", logs)
	}
}

func TestFleetReconcile(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	base, pct, rebalance := 1, 25, false
	spec := FleetSpec{
		InstanceTypes:                       []string{"m5.large", "c5.large"},
		OnDemandBaseCapacity:                &base,
		OnDemandPercentageAboveBaseCapacity: &pct,
		SpotAllocationStrategy:              "capacity-optimized",
		CapacityRebalance:                   &rebalance,
	}
	_, _, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners", CapacityRebalance: true}, SpotOptions{Fleet: &spec})
	gr, _ := s.Group("runners")
	d := gr.Mixed.Distribution
	var types []string
	for _, o := range gr.Mixed.Overrides {
		types = append(types, o.InstanceType)
	}
	if strings.Join(types, ",") != "m5.large,c5.large" || d.OnDemandBaseCapacity != 1 || d.OnDemandPercentageAboveBaseCapacity != 25 ||
		d.SpotAllocationStrategy != "capacity-optimized" || gr.CapacityRebalance {
		t.Errorf("group after reconcile: types %v, distribution %+v, capacity rebalance %t", types, d, gr.CapacityRebalance)
	}
	for _, change := range []string{"instance_types [t3.micro t3a.micro m5.large] → [m5.large c5.large]", "on_demand_base_capacity 0 → 1",
		"on_demand_percentage_above_base_capacity 0 → 25", "spot_allocation_strategy price-capacity-optimized → capacity-optimized", "capacity_rebalance true → false"} {
		if !strings.Contains(logs.String(), change) {
			t.Errorf("diff lacks %q:\n%s", change, logs)
		}
	}

	// A second start finds nothing to change; absent keys are untouched.
	s.ResetCalls()
	g2 := NewGroup(GroupOptions{Name: "runners", Clients: NewClients(testAWSConfig(t))})
	if err := spotFor(g2, SpotOptions{Fleet: &FleetSpec{OnDemandBaseCapacity: &base}}).Init(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := s.CallCount("autoscaling", "UpdateAutoScalingGroup"); n != 0 {
		t.Errorf("UpdateAutoScalingGroup called %d times with nothing to change", n)
	}
}

func TestLaunchSyncCarriesAcrossZonesAndReportsPoolErrors(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "us-east-1a", awssim.Spot, 0)
	}
	res, poolErrs, err := g.launchSync(testCtx(t), 2, sp.syncLaunch())
	if err != nil || res.Requested != 2 || res.Desired != 2 {
		t.Fatalf("LaunchSync(2) = %+v, %v, %v", res, poolErrs, err)
	}
	if len(poolErrs) == 0 || poolErrs[0].AvailabilityZone != "us-east-1a" || poolErrs[0].Code != "InsufficientInstanceCapacity" {
		t.Errorf("pool errors %+v, want the empty spot pools of us-east-1a", poolErrs)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 2 {
		t.Errorf("group desired %d after launching 2", gr.Desired)
	}
	for _, inst := range s.Instances() {
		if inst.AZ == "us-east-1a" {
			t.Errorf("%s launched in the empty zone", inst.ID)
		}
	}

	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	res, _, err = g.launchSync(testCtx(t), 1, sp.syncLaunch())
	if err == nil || res.Requested != 0 || !strings.Contains(err.Error(), "no instance launched") {
		t.Errorf("LaunchSync without capacity = %+v, %v", res, err)
	}
	if gr, _ := s.Group("runners"); gr.Desired != 2 {
		t.Errorf("failed launch moved desired to %d", gr.Desired)
	}
	if hold, _, _ := sp.IncreaseHold(); hold <= 0 {
		t.Error("no Increase back-off after pool capacity errors")
	}
	// One line per failing pool (zone), the repeat of us-east-1a at debug.
	if n := logs.count("[WARN]  auto scaling group could not launch an instance"); n != 3 {
		t.Errorf("capacity errors logged %d times, want once per pool (3):\n%s", n, logs)
	}
	_ = g
}

func TestOwnTerminationsAreNoSignal(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	url := s.CreateQueue("interruptions")
	if err := s.SubscribeQueue("interruptions"); err != nil {
		t.Fatal(err)
	}
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{QueueURL: url, QueueWait: 1})
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	id := inService(t, g, 1)[0]
	if _, err := g.Decrease(testCtx(t), []string{id}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "termination", func() bool {
		observe(t, g, sp)
		inst, _ := s.Instance(id)
		return inst.State == "terminated"
	})
	eventually(t, "queue drained", func() bool { return queueDepth(t, url) == 0 })
	observe(t, g, sp)
	if strings.Contains(logs.String(), "[WARN]") || strings.Contains(logs.String(), "terminating the instance") {
		t.Errorf("the plugin's own termination was reported as a signal:\n%s", logs)
	}
}

func TestFallbackInSynchronousMode(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g, sp, _ := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
		Fallback: &FallbackOptions{After: 200 * time.Millisecond, Hold: time.Minute},
	})
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if res, _, err := g.launchSync(testCtx(t), 1, sp.syncLaunch()); err == nil || res.Requested != 0 {
		t.Fatalf("LaunchSync without spot capacity = %+v, %v", res, err)
	}
	eventually(t, "switch to on-demand", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
	if hold, _, _ := sp.IncreaseHold(); hold != 0 {
		t.Errorf("Increase still held back (%s) with the fallback in force", hold)
	}
	if res, _, err := g.launchSync(testCtx(t), 1, sp.syncLaunch()); err != nil || res.Requested != 1 {
		t.Fatalf("LaunchSync during the fallback = %+v, %v", res, err)
	}
	inst := inService(t, g, 1)
	if i, _ := s.Instance(inst[0]); i.Market != awssim.OnDemand {
		t.Errorf("launched %s during the fallback", i.Market)
	}
}

func TestVerdictGraceAndDuplicates(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sp := spotFor(NewGroup(GroupOptions{Name: "runners"}), SpotOptions{Now: func() time.Time { return now }})
	sp.record("i-1", Signal{Kind: SignalInterruption, Source: SourceQueue, Detail: "terminate"})
	sp.record("i-1", Signal{Kind: SignalInterruption, Source: SourceSpotRequest, Detail: "marked-for-termination"}) // duplicate
	if v := sp.Verdict("i-1"); !v.Deleting || !v.Unhealthy || !strings.Contains(v.Reason, "via queue") {
		t.Errorf("fresh interruption: %+v", v)
	}
	now = now.Add(DefaultDoomedGrace + time.Second)
	if v := sp.Verdict("i-1"); v.Deleting || !v.Unhealthy {
		t.Errorf("after the grace (AWS never took it): %+v, want running again but still unhealthy", v)
	}
	sp.record("i-2", Signal{Kind: SignalRebalance, Source: SourceQueue})
	if v := sp.Verdict("i-2"); v.Deleting || !v.Unhealthy {
		t.Errorf("rebalance under drain: %+v", v)
	}
	if v := sp.Verdict("i-3"); v != (Verdict{}) {
		t.Errorf("no signal: %+v", v)
	}
	if tl := timeLeft(Signal{Detail: "terminate", SeenAt: now, NoticeTime: now.Add(-30 * time.Second)}, now); tl != 90*time.Second {
		t.Errorf("time left %s, want 1m30s", tl)
	}
	if tl := timeLeft(Signal{Detail: "hibernate", SeenAt: now}, now); tl != 0 {
		t.Errorf("hibernate time left %s", tl)
	}
}

func TestLaunchFailureOfAMissingImageIsAnErrorAndNoBackoff(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{Speed: 300})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners", ImageID: "ami-0000000000missing"}, SpotOptions{
		ActivityPollInterval: time.Millisecond,
		Fallback:             &FallbackOptions{After: 100 * time.Millisecond, Hold: time.Minute},
	})
	if _, err := g.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "failed activities", func() bool {
		observe(t, g, sp)
		gr, _ := s.Group("runners")
		return len(gr.Activities) >= 3
	})
	observe(t, g, sp)
	if n := logs.count("[ERROR] auto scaling group could not launch an instance"); n != 1 || !strings.Contains(logs.String(), "reason=image") {
		t.Errorf("missing image logged %d times at error (want once, reason=image):\n%s", n, logs)
	}
	if hold, _, _ := sp.IncreaseHold(); hold != 0 {
		t.Errorf("Increase backs off (%s) on a configuration error", hold)
	}
	time.Sleep(150 * time.Millisecond)
	observe(t, g, sp)
	if p := groupODPercentage(t, s); p != 0 {
		t.Errorf("fell back to on-demand (%d%%) for a missing image", p)
	}
	if n := logs.count("on-demand fallback not applied: the launches fail for a reason on-demand does not fix"); n != 1 {
		t.Errorf("fallback refusal logged %d times, want once:\n%s", n, logs)
	}
}
