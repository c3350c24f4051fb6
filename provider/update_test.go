package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
)

func TestUpdateMapsEveryLifecycleState(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	all := types.LifecycleState("").Values()
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: len(all) + 5, Desired: len(all)}, provider.Settings{})
	ids := p.waitRunning(t, len(all))
	s.SetSpeed(0.001) // freeze the world while labels are swapped

	want := map[string]provider.State{}
	for n, ls := range all {
		var err error
		switch ls {
		case types.LifecycleStatePending, types.LifecycleStateDetached:
			// The simulator promotes a running Pending instance at once and
			// hides Detached ones; Pending is covered by a real launch below.
			want[ids[n]] = provider.StateRunning
			continue
		case types.LifecycleStateDetaching:
			err = s.DetachExternally(ids[n])
		default:
			err = s.SetLifecycleState(ids[n], string(ls))
		}
		if err != nil {
			t.Fatalf("simulator cannot put an instance in %s: %v", ls, err)
		}
		switch ec2spot.Classify(ls) {
		case ec2spot.PhaseLaunching, ec2spot.PhaseQuarantined, ec2spot.PhaseReplacingRootVolume:
			want[ids[n]] = provider.StateCreating
		case ec2spot.PhaseInService:
			want[ids[n]] = provider.StateRunning
		case ec2spot.PhaseTerminating, ec2spot.PhaseRetained, ec2spot.PhaseTerminated:
			want[ids[n]] = provider.StateDeleting
		case ec2spot.PhaseStandby, ec2spot.PhaseDetaching, ec2spot.PhaseWarmPool, ec2spot.PhaseUnknown:
			// not reported
		}
	}
	if n, err := p.Increase(testCtx(t), 1); n != 1 || err != nil {
		t.Fatalf("Increase: %d, %v", n, err)
	}
	for round := 0; round < 2; round++ {
		got := p.states(t)
		var creating int
		for id, st := range got {
			if _, known := want[id]; !known && st == provider.StateCreating {
				creating++
			}
		}
		// The new launch (and the group's replacements of the members
		// taken out of service) are Pending.
		if creating == 0 {
			t.Errorf("no freshly launched (Pending) instance reported creating: %v", got)
		}
		for n, ls := range all {
			id := ids[n]
			if got[id] != want[id] {
				t.Errorf("%s: reported %q, want %q", ls, got[id], want[id])
			}
		}
	}
	// Skipped takeovers are warned about on every Update.
	if n := strings.Count(p.log.String(), "instance is in standby"); n != 4 {
		t.Errorf("standby warnings = %d, want 4 (2 states × 2 updates)", n)
	}
	if n := strings.Count(p.log.String(), "instance is detaching or detached"); n != 2 {
		t.Errorf("detach warnings = %d, want 2", n)
	}
	if !p.log.Contains("instance retained after an abandoned termination lifecycle hook") {
		t.Error("no warning for Terminating:Retained")
	}
}

func TestUpdateReturnsErrorsNotEmptyLists(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, provider.Settings{})
	p.waitRunning(t, 2)
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "InternalFailure", Status: 500, Message: "boom"})
	called := false
	err := p.Update(testCtx(t), func(string, provider.State) { called = true })
	if err == nil || called {
		t.Fatalf("Update on API failure: err %v, reported %v", err, called)
	}
	s.ClearFaults()
	if got := p.states(t); len(got) != 2 {
		t.Errorf("after recovery: %v", got)
	}
	// One describe per Update, no DescribeInstances.
	s.ResetCalls()
	p.states(t)
	if s.CallCount("autoscaling", "DescribeAutoScalingGroups") != 1 || s.CallCount("ec2", "DescribeInstances") != 0 {
		t.Errorf("calls per Update: %v", s.Calls())
	}
}

func TestUpdateLogsDrift(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 5}, provider.Settings{})
	ctx := testCtx(t)
	if n, err := p.Increase(ctx, 1); n != 1 || err != nil {
		t.Fatalf("Increase: %d, %v", n, err)
	}
	p.states(t)
	if p.log.Contains("desired capacity changed outside the plugin") {
		t.Fatal("own change logged as drift")
	}
	op := autoscaling.NewFromConfig(awsConfigFor(t))
	if _, err := op.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	p.states(t)
	if !p.log.Contains("desired capacity changed outside the plugin") || !p.log.Contains("expected_desired_capacity=1 observed_desired_capacity=4") {
		t.Errorf("drift not logged:\n%s", p.log)
	}
}

func awsConfigFor(t *testing.T) aws.Config {
	cfg, err := ec2spot.LoadAWSConfig(context.Background(), ec2spot.AWSOptions{RetryBackoff: ec2spot.ZeroBackoff, Endpoint: simtest.Endpoint(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's default HTTP client can lose a response to a local server
	// under CPU load (see ec2spot.CloseSafeClient).
	cfg.HTTPClient = ec2spot.NewHTTPClient(0)
	return cfg
}

// A retained instance is reported deleting, so fleeting never sends a
// Decrease for it: the plugin terminates it itself, once, without touching
// desired capacity, so it stops billing.
func TestUpdateTerminatesRetainedInstances(t *testing.T) {
	t.Parallel()
	// Terminating lasts long enough that all 3 updates see the instance,
	// however slow the machine.
	s := fastSim(t, awssim.Options{TerminateDelay: time.Hour})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, provider.Settings{})
	p.waitRunning(t, 2)
	var retained string
	for id := range p.states(t) {
		retained = id
		break
	}
	if err := s.SetLifecycleState(retained, "Terminating:Retained"); err != nil {
		t.Fatal(err)
	}
	group, _ := s.Group("runners")
	s.ResetCalls()
	for range 3 {
		if got := p.states(t); got[retained] != provider.StateDeleting {
			t.Fatalf("retained instance reported %q, want deleting", got[retained])
		}
	}
	if n := s.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup"); n != 1 {
		t.Errorf("TerminateInstanceInAutoScalingGroup called %d times over 3 updates, want 1", n)
	}
	if inst, _ := s.Instance(retained); inst.State == "running" && inst.Lifecycle == "Terminating:Retained" {
		t.Errorf("retained instance still running and retained: %+v", inst)
	}
	if after, _ := s.Group("runners"); after.Desired != group.Desired {
		t.Errorf("desired capacity %d → %d: a retained instance does not fill it", group.Desired, after.Desired)
	}
	if !p.log.Contains("terminating an instance the group retained") {
		t.Error("no log line for terminating the retained instance")
	}
}
