package ec2spot

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/hashicorp/go-hclog"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// fallbackRestored reports whether the group is back on its configured
// policy (0 % on-demand above base) with no fallback record left.
func fallbackRestored(s *awssim.Sim) (bool, int, string) {
	gr, _ := s.Group("runners")
	tag, ok := gr.Tags[FallbackTagKey]
	pct := gr.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity
	return pct == 0 && !ok, pct, tag
}

// restartSpot is a fresh plugin process over the same group.
func restartSpot(t *testing.T, o SpotOptions) *Spot {
	t.Helper()
	g := NewGroup(GroupOptions{Name: "runners", Clients: NewClients(testAWSConfig(t))})
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	sp := spotFor(g, o)
	if err := sp.Init(testCtx(t)); err != nil {
		t.Fatalf("Init of the restarted process: %v", err)
	}
	return sp
}

// Whichever of the fallback's calls loses its answer (it took effect, the
// reply never came), the group ends on its configured policy with no tag
// left: by the later updates, by Shutdown, or by a fresh process.
func TestFallbackSurvivesLostReplies(t *testing.T) {
	// Not parallel: its fallback hold is a few hundred real milliseconds,
	// which CPU contention from parallel tests can use up between two checks.
	for _, lost := range []struct {
		at     string // "switch" or "restore"
		action string
	}{
		{"switch", "UpdateAutoScalingGroup"},
		{"switch", "CreateOrUpdateTags"},
		{"restore", "UpdateAutoScalingGroup"},
		{"restore", "DeleteTags"},
	} {
		for _, route := range []string{"updates", "shutdown", "restart"} {
			t.Run(lost.at+" "+lost.action+" lost, then "+route, func(t *testing.T) {
				s := fastSim(t, awssim.Options{Speed: 300})
				hold := time.Minute // no probe: Shutdown or a restart restores
				if route == "updates" {
					hold = 300 * time.Millisecond
				}
				o := SpotOptions{
					ActivityPollInterval: time.Millisecond,
					Fallback:             &FallbackOptions{After: 200 * time.Millisecond, Hold: hold},
				}
				g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, o)
				for _, typ := range defaultTypes {
					s.SetPoolCapacity(typ, "", awssim.Spot, 0)
				}
				if _, err := g.Increase(testCtx(t), 2); err != nil {
					t.Fatal(err)
				}
				// Count 3: every attempt of the SDK's one call loses its
				// answer; each took effect.
				fault := awssim.Fault{Service: "autoscaling", Action: lost.action, DropResponse: true, Count: 3}
				if lost.at == "switch" {
					s.InjectFault(fault)
				}
				eventually(t, "switch to on-demand", func() bool { observe(t, g, sp); return groupODPercentage(t, s) == 100 })
				observe(t, g, sp)
				s.ClearFaults()
				if gr, _ := s.Group("runners"); gr.Tags[FallbackTagKey] != "0" {
					t.Fatalf("group on-demand with tag %s = %q; want the original 0 recorded\n%s", FallbackTagKey, gr.Tags[FallbackTagKey], logs)
				}

				for _, typ := range defaultTypes {
					s.SetPoolCapacity(typ, "", awssim.Spot, -1)
				}
				if lost.at == "restore" {
					s.InjectFault(fault)
				}
				switch route {
				case "updates":
					eventually(t, "restore by the updates", func() bool {
						observe(t, g, sp)
						ok, _, _ := fallbackRestored(s)
						return ok
					})
				case "shutdown":
					sp.Stop(testCtx(t))
				case "restart":
					restartSpot(t, o)
				}
				if ok, pct, tag := fallbackRestored(s); !ok {
					t.Errorf("after %s: on-demand percentage %d, tag %q; want 0 and no tag\n%s", route, pct, tag, logs)
				}
			})
		}
	}
}

// A restore that fails at start is not forgotten until the next start:
// every update tries again, with the fallback configured or not.
func TestFallbackLeftByEarlierProcessRestoredByLaterUpdate(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Name: "runners", MaxSize: 4})
	ctx := testCtx(t)
	if err := putFallbackTag(ctx, g.clients.AutoScaling, "runners", 0); err != nil {
		t.Fatal(err)
	}
	if err := setOnDemandPercentage(ctx, g.clients.AutoScaling, "runners", 100); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "UpdateAutoScalingGroup", Code: "AccessDenied", Status: 403, Message: "not now", Count: 1})
	logs := &syncBuffer{}
	sp := spotFor(g, SpotOptions{Log: hclog.New(&hclog.LoggerOptions{Output: logs})})
	if err := sp.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := fallbackRestored(s); ok {
		t.Fatal("restored despite the injected failure")
	}
	observe(t, g, sp)
	if ok, pct, tag := fallbackRestored(s); !ok {
		t.Errorf("after the next update: percentage %d, tag %q; want 0 and no tag\n%s", pct, tag, logs)
	}
}

// The fallback switches only on evidence of a spot capacity failure: a
// group short for any other reason stays on its configured policy, and
// the reason is logged once.
func TestFallbackNeedsEvidence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *awssim.Sim)
		log   string
	}{
		{
			name: "Launch process suspended",
			setup: func(t *testing.T, _ *awssim.Sim) {
				_, err := operator(t).SuspendProcesses(testCtx(t), &autoscaling.SuspendProcessesInput{
					AutoScalingGroupName: aws.String("runners"), ScalingProcesses: []string{"Launch"}})
				if err != nil {
					t.Fatal(err)
				}
			},
			log: "its scaling activities show no spot capacity failure",
		},
		{
			name: "scaling activities denied",
			setup: func(_ *testing.T, s *awssim.Sim) {
				for _, typ := range defaultTypes {
					s.SetPoolCapacity(typ, "", awssim.Spot, 0)
				}
				s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeScalingActivities", Code: "AccessDenied", Status: 403, Message: "not allowed"})
			},
			log: "allow autoscaling:DescribeScalingActivities",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fastSim(t, awssim.Options{Speed: 300})
			g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{
				ActivityPollInterval: time.Millisecond,
				Fallback:             &FallbackOptions{After: 50 * time.Millisecond, Hold: time.Minute},
			})
			tc.setup(t, s)
			if _, err := g.Increase(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			// Short from the first update on; after the sleep, After has
			// passed however slowly the machine runs.
			observe(t, g, sp)
			time.Sleep(100 * time.Millisecond)
			for range 3 {
				observe(t, g, sp)
			}
			if p := groupODPercentage(t, s); p != 0 {
				t.Errorf("switched to %d%% on-demand without a spot capacity failure", p)
			}
			if n := logs.count("on-demand fallback not applied: "); n != 1 || !strings.Contains(logs.String(), tc.log) {
				t.Errorf("refusal logged %d times, want once with %q:\n%s", n, tc.log, logs)
			}
		})
	}
}

// A large scale-in (more "Terminating" activities than one page) newer than
// the spot capacity failure does not hide it; the next check reads only
// what is new.
func TestLaunchFailureBehindALargeScaleIn(t *testing.T) {
	t.Parallel()
	// Real speed: AWS retries the launch only after 10 s; instances boot and
	// terminate at once.
	s := fastSim(t, awssim.Options{Speed: 1, BootDelay: time.Millisecond, TerminateDelay: time.Millisecond})
	g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners", Desired: 120, MaxSize: 130}, SpotOptions{
		ActivityPollInterval: time.Millisecond,
		Fallback:             &FallbackOptions{After: 50 * time.Millisecond, Hold: time.Minute},
	})
	ctx := testCtx(t)
	snap, _, err := g.Refresh(ctx)
	if err != nil || len(snap.Instances) != 120 {
		t.Fatalf("refresh: %d instances, %v", len(snap.Instances), err)
	}
	for _, typ := range defaultTypes {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := g.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the launch failure", func() bool {
		gr, _ := s.Group("runners")
		return gr.Activities[len(gr.Activities)-1].StatusCode == "Failed"
	})
	var ids []string
	for _, i := range snap.Instances[:110] {
		ids = append(ids, i.ID)
	}
	if _, err := g.Decrease(ctx, ids); err != nil {
		t.Fatal(err)
	}
	for _, typ := range defaultTypes { // the terminations gave their slots back
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if gr, _ := s.Group("runners"); len(gr.Activities) < 230 {
		t.Fatalf("%d activities, want the scale-in's 110 after the failure", len(gr.Activities))
	}

	s.ResetCalls()
	observe(t, g, sp)
	first := s.CallCount("autoscaling", "DescribeScalingActivities")
	if !strings.Contains(logs.String(), "reason=spot_capacity") {
		t.Errorf("the spot capacity failure behind the scale-in was not found:\n%s", logs)
	}
	if hold, lf, _ := sp.IncreaseHold(); hold <= 0 || lf == nil || lf.Class != FailureSpotCapacity {
		t.Errorf("IncreaseHold = %s, %+v; want a spot capacity back-off", hold, lf)
	}
	if first > activityPages {
		t.Errorf("%d DescribeScalingActivities calls in one check, bound is %d", first, activityPages)
	}
	time.Sleep(60 * time.Millisecond) // After
	s.ResetCalls()
	observe(t, g, sp)

	if n := s.CallCount("autoscaling", "DescribeScalingActivities"); n != 1 {
		t.Errorf("the next check made %d DescribeScalingActivities calls, want 1 (nothing new since the first)", n)
	}
	if p := groupODPercentage(t, s); p != 100 {
		t.Errorf("on-demand percentage %d: the fallback did not switch on the failure found\n%s", p, logs)
	}
}
