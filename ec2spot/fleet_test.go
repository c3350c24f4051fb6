package ec2spot

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// openFleet creates the group in the simulator and opens a Fleet over it.
func openFleet(t *testing.T, s *awssim.Sim, spec awssim.GroupSpec, so SpotOptions) *Fleet {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "runners"
	}
	if err := s.CreateGroup(spec); err != nil {
		t.Fatal(err)
	}
	cfg := testAWSConfig(t)
	f := NewFleet(FleetOptions{
		Group: GroupOptions{Name: spec.Name, Region: cfg.Region, Clients: NewClients(cfg)},
		Spot:  so,
	})
	if _, err := f.Open(testCtx(t)); err != nil {
		t.Fatalf("Open: %v", err)
	}
	f.Start()
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

func update(t *testing.T, f *Fleet, report func(Refreshed)) UpdateResult {
	t.Helper()
	if report == nil {
		report = func(Refreshed) {}
	}
	res, err := f.Update(testCtx(t), report)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return res
}

// A member the group retained after an abandoned termination hook still
// bills: Update hands it to the report first (the runner sees it leaving)
// and terminates it after, in the same Update.
func TestFleetUpdateReportsThenTerminatesRetained(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	f := openFleet(t, s, awssim.GroupSpec{Desired: 2, MaxSize: 5}, SpotOptions{})
	ids := inService(t, f.group, 2)
	ctx := testCtx(t)
	if err := s.SetTerminationHook("runners", &awssim.TerminationHook{RetainOnAbandon: true}); err != nil {
		t.Fatal(err)
	}
	if out, err := f.Decrease(ctx, ids[:1]); err != nil || out[0].Status != DecreaseRequested {
		t.Fatalf("Decrease: %+v, %v", out, err)
	}
	if err := s.CompleteTermination(ids[0], "ABANDON"); err != nil {
		t.Fatal(err)
	}

	s.ResetCalls()
	reported := false
	res := update(t, f, func(r Refreshed) {
		reported = true
		inst, ok := r.Snapshot.Instance(ids[0])
		if !ok || inst.Phase != PhaseRetained {
			t.Errorf("report: retained member %s missing or %v", ids[0], inst.Phase)
		}
		if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 0 {
			t.Errorf("terminated before the report (%d calls)", n)
		}
	})
	if !reported {
		t.Fatal("Update did not report")
	}
	if res.RetainedErr != nil || len(res.Retained) != 1 || res.Retained[0].ID != ids[0] || res.Retained[0].Status != DecreaseRequested {
		t.Fatalf("retained member not terminated after the report: %+v, %v", res.Retained, res.RetainedErr)
	}
	if got := lifecycleOf(s, ids[0]); got != "Terminating/shutting-down" {
		t.Errorf("retained member after Update: %s", got)
	}
}

// An instance AWS is taking gets no connection: Connect refuses it before
// describing it or pushing a key, and Unhealthy names the signal; the
// other instances connect.
func TestFleetConnectRefusesAnInstanceAWSIsTaking(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	f := openFleet(t, s, awssim.GroupSpec{MaxSize: 4}, SpotOptions{})
	ctx := testCtx(t)
	if res, err := f.Increase(ctx, 2); err != nil || res.Requested != 2 {
		t.Fatalf("Increase: %+v, %v", res, err)
	}
	ids := inService(t, f.group, 2)
	update(t, f, nil) // learns the markets
	victim, other := ids[0], ids[1]
	if err := s.Interrupt(victim, "terminate"); err != nil {
		t.Fatal(err)
	}
	update(t, f, nil)

	s.ResetCalls()
	called := false
	_, err := f.Connect(ctx, victim, func(InstanceDetails) error { called = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "AWS is taking the instance") || !strings.Contains(err.Error(), "marked-for-termination") {
		t.Fatalf("Connect to an interrupted instance: %v", err)
	}
	if called {
		t.Error("credentials were made for an interrupted instance")
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("Connect to an interrupted instance made %d calls: %v", n, s.Calls())
	}
	if why := f.Unhealthy(ctx, victim); !strings.HasPrefix(why, victim+": ") || !strings.Contains(why, "marked-for-termination") {
		t.Errorf("Unhealthy(%s) = %q", victim, why)
	}

	var got InstanceDetails
	d, err := f.Connect(ctx, other, func(d InstanceDetails) error { got = d; return nil })
	if err != nil || got.ID != other || d.ID != other || d.PrivateIP == "" {
		t.Fatalf("Connect to a healthy instance: %+v, %+v, %v", d, got, err)
	}
	if why := f.Unhealthy(ctx, other); why != "" {
		t.Errorf("Unhealthy(%s) = %q, want healthy", other, why)
	}
}
