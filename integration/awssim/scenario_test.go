package awssim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Scenario tests: the group's behaviour over simulated time.

func aActivities(t *testing.T, c *autoscaling.Client, group string) []astypes.Activity {
	t.Helper()
	out, err := c.DescribeScalingActivities(aCtx(t), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(group)})
	aNoErr(t, err)
	return out.Activities
}

func aFailed(acts []astypes.Activity) []astypes.Activity {
	var out []astypes.Activity
	for _, a := range acts {
		if a.StatusCode == astypes.ScalingActivityStatusCodeFailed {
			out = append(out, a)
		}
	}
	return out
}

func aSetDesired(t *testing.T, s *awssim.Sim, group string, n int32) {
	t.Helper()
	_, err := aASG(s).SetDesiredCapacity(aCtx(t), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(group), DesiredCapacity: aws.Int32(n)})
	aNoErr(t, err)
}

func TestScenarioSpotPoolExhaustionAndRecovery(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c := aASG(s)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 5, InstanceTypes: []string{"t3.micro", "t3a.micro"}}))
	for _, typ := range []string{"t3.micro", "t3a.micro"} {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	aSetDesired(t, s, "g", 2)

	const want = "Launching a new EC2 instance. Status Reason: There is no Spot capacity available that matches your request. Launching EC2 instance failed."
	aWait(t, "two failed launch activities", func() bool { return len(aFailed(aActivities(t, c, "g"))) >= 2 })
	failed := aFailed(aActivities(t, c, "g"))
	if got := aws.ToString(failed[0].Description); got != want {
		t.Fatalf("description\n got %q\nwant %q", got, want)
	}
	if aws.ToString(failed[0].StatusMessage) != "There is no Spot capacity available that matches your request." ||
		!strings.Contains(aws.ToString(failed[0].Cause), "increasing the capacity from 0 to 2") {
		t.Fatalf("activity %+v", failed[0])
	}
	// Backoff: the second attempt comes ≥ 10 s (simulated) after the first.
	if gap := failed[0].StartTime.Sub(*failed[1].StartTime); gap < 10*time.Second {
		t.Fatalf("retried after %v, want exponential backoff from 10s", gap)
	}
	g := aDescribeGroup(t, c, "g")
	if aws.ToInt32(g.DesiredCapacity) != 2 || len(g.Instances) != 0 {
		t.Fatalf("desired %d, instances %d", aws.ToInt32(g.DesiredCapacity), len(g.Instances))
	}

	// One pool comes back with room for one instance: the group takes it
	// and keeps failing for the second.
	s.SetPoolCapacity("t3a.micro", "us-east-1c", awssim.Spot, 1)
	aWait(t, "one instance in service", func() bool { return len(aInService(s, "g")) == 1 })
	if inst := aInService(s, "g")[0]; inst.AZ != "us-east-1c" || inst.InstanceType != "t3a.micro" {
		t.Fatalf("launched into %s/%s", inst.InstanceType, inst.AZ)
	}
	for _, typ := range []string{"t3.micro", "t3a.micro"} {
		s.SetPoolCapacity(typ, "", awssim.Spot, -1)
	}
	aWait(t, "recovery", func() bool { return len(aInService(s, "g")) == 2 })
}

func TestScenarioOnDemandInsufficientCapacityMessage(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c := aASG(s)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", InstanceTypes: []string{"t3.micro"}, OnDemandPercentageAboveBase: 100, AZs: []string{"us-east-1a"}}))
	s.SetPoolCapacity("t3.micro", "us-east-1a", awssim.OnDemand, 0)
	aSetDesired(t, s, "g", 1)
	aWait(t, "failed activity", func() bool { return len(aFailed(aActivities(t, c, "g"))) > 0 })
	const want = "Launching a new EC2 instance. Status Reason: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity. You can currently get t3.micro capacity by not specifying an Availability Zone in your request or choosing us-east-1b, us-east-1c. Launching EC2 instance failed."
	if got := aws.ToString(aFailed(aActivities(t, c, "g"))[0].Description); got != want {
		t.Fatalf("description\n got %q\nwant %q", got, want)
	}
}

func TestScenarioInterruption(t *testing.T) {
	s := newASim(t, awssim.Options{})
	e := aEC2(s)
	ctx := aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	aWait(t, "in service", func() bool { return len(aInService(s, "g")) == 1 })
	victim := aInService(s, "g")[0]

	if err := s.Interrupt("i-0000000000000000a", "terminate"); err == nil {
		t.Fatal("interrupting an unknown instance should fail")
	}
	aNoErr(t, s.Interrupt(victim.ID, "terminate"))
	spot := func() ec2types.SpotInstanceRequest {
		out, err := e.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{
			Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{victim.ID}}}})
		aNoErr(t, err)
		if len(out.SpotInstanceRequests) != 1 {
			t.Fatalf("spot requests: %d", len(out.SpotInstanceRequests))
		}
		return out.SpotInstanceRequests[0]
	}
	if code := aws.ToString(spot().Status.Code); code != "marked-for-termination" {
		t.Fatalf("status %s", code)
	}
	noticeAt := s.Now()
	aWait(t, "terminated after the notice", func() bool { i, _ := s.Instance(victim.ID); return i.State == "terminated" })
	if waited := s.Now().Sub(noticeAt); waited < 2*time.Minute {
		t.Fatalf("terminated after %v, want the 2 minute notice", waited)
	}
	inst, _ := s.Instance(victim.ID)
	if inst.StateReason != "Server.SpotInstanceTermination" {
		t.Fatalf("state reason %s", inst.StateReason)
	}
	if sr := spot(); aws.ToString(sr.Status.Code) != "instance-terminated-no-capacity" || sr.State != ec2types.SpotInstanceStateClosed {
		t.Fatalf("spot request after: %s %s", aws.ToString(sr.Status.Code), sr.State)
	}
	aWait(t, "replacement", func() bool { in := aInService(s, "g"); return len(in) == 1 && in[0].ID != victim.ID })
	if err := s.Interrupt(aInService(s, "g")[0].ID, "explode"); err == nil {
		t.Fatal("bad action accepted")
	}
}

func TestScenarioProtectedInstancesSurviveScaleIn(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 3}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	aSetDesired(t, s, "g", 0)
	const msg = "Could not scale to desired capacity because all remaining instances are protected from scale in."
	aWait(t, "protected notice", func() bool {
		for _, a := range aActivities(t, c, "g") {
			if aws.ToString(a.StatusMessage) == msg {
				return true
			}
		}
		return false
	})
	s.Advance(10 * time.Minute)
	if n := len(aInService(s, "g")); n != 3 {
		t.Fatalf("protected instances terminated: %d left", n)
	}
	id := aInService(s, "g")[0].ID
	_, err := c.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}, ProtectedFromScaleIn: aws.Bool(false)})
	aNoErr(t, err)
	aWait(t, "unprotected one terminated", func() bool { i, _ := s.Instance(id); return i.State == "terminated" })
	if n := len(aInService(s, "g")); n != 2 {
		t.Fatalf("want 2 protected survivors, got %d", n)
	}
}

func TestScenarioMixedDistribution(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 20, Desired: 10, OnDemandBase: 2, OnDemandPercentageAboveBase: 50}))
	aWait(t, "10 launched", func() bool { return aGroupInstances(s, "g")["Pending"]+aGroupInstances(s, "g")["InService"] == 10 })
	markets, azs := map[awssim.Market]int{}, map[string]int{}
	for _, inst := range s.Instances() {
		markets[inst.Market]++
		azs[inst.AZ]++
		if inst.Market == awssim.OnDemand && inst.InstanceType != "t3.micro" {
			t.Fatalf("on-demand prioritized should use the first override, got %s", inst.InstanceType)
		}
	}
	// 2 base + 50% of 8 above base.
	if markets[awssim.OnDemand] != 6 || markets[awssim.Spot] != 4 {
		t.Fatalf("markets %v", markets)
	}
	for az, n := range azs {
		if n < 3 || n > 4 {
			t.Fatalf("AZs unbalanced: %s has %d (%v)", az, n, azs)
		}
	}
}

func TestScenarioSpotAllocationStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		setup    func(s *awssim.Sim)
		want     string
	}{
		// t3a.micro is the cheaper pool.
		{"price-capacity-optimized", func(*awssim.Sim) {}, "t3a.micro"},
		{"lowest-price", func(*awssim.Sim) {}, ""}, // spreads over the 2 cheapest pools
		{"capacity-optimized", func(s *awssim.Sim) {
			s.SetPoolCapacity("t3.micro", "", awssim.Spot, 1000)
			s.SetPoolCapacity("t3a.micro", "", awssim.Spot, 10)
		}, "t3.micro"},
		{"price-capacity-optimized", func(s *awssim.Sim) {
			s.SetSpotPrice("t3a.micro", "", 0.009) // dearer now
		}, "t3.micro"},
	} {
		t.Run(tc.strategy+"/"+tc.want, func(t *testing.T) {
			s := newASim(t, awssim.Options{})
			tc.setup(s)
			aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 6, InstanceTypes: []string{"t3.micro", "t3a.micro"}, SpotAllocationStrategy: tc.strategy}))
			aWait(t, "6 launched", func() bool { return len(s.Instances()) == 6 })
			types := map[string]int{}
			for _, inst := range s.Instances() {
				types[inst.InstanceType]++
			}
			if tc.want == "" {
				if types["t3.micro"] == 0 || types["t3a.micro"] == 0 {
					t.Fatalf("lowest-price should spread over both pools: %v", types)
				}
				return
			}
			if types[tc.want] != 6 {
				t.Fatalf("want all %s, got %v", tc.want, types)
			}
		})
	}
}

func TestScenarioCapacityRebalance(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 2, CapacityRebalance: true}))
	aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })
	atRisk := aInService(s, "g")[0].ID
	aNoErr(t, s.RecommendRebalance(atRisk))
	aWait(t, "at-risk instance replaced", func() bool {
		i, _ := s.Instance(atRisk)
		in := aInService(s, "g")
		return i.State == "terminated" && len(in) == 2
	})
	for _, inst := range aInService(s, "g") {
		if inst.ID == atRisk {
			t.Fatal("at-risk instance still in service")
		}
	}
}

func TestScenarioRebalanceWithoutCapacityRebalance(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	aWait(t, "in service", func() bool { return len(aInService(s, "g")) == 1 })
	id := aInService(s, "g")[0].ID
	aNoErr(t, s.RecommendRebalance(id))
	s.Advance(10 * time.Minute)
	if in := aInService(s, "g"); len(in) != 1 || in[0].ID != id {
		t.Fatalf("without CapacityRebalance nothing should change: %+v", in)
	}
}

func TestScenarioAZRebalance(t *testing.T) {
	s := newASim(t, awssim.Options{})
	// Only us-east-1a has capacity at first, so all three land there.
	for _, az := range []string{"us-east-1b", "us-east-1c"} {
		for _, m := range []awssim.Market{awssim.Spot, awssim.OnDemand} {
			s.SetPoolCapacity("t3.micro", az, m, 0)
		}
	}
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 3, InstanceTypes: []string{"t3.micro"}, KeepAZRebalance: true}))
	aWait(t, "3 in service", func() bool { return len(aInService(s, "g")) == 3 })
	for _, az := range []string{"us-east-1b", "us-east-1c"} {
		s.SetPoolCapacity("t3.micro", az, awssim.Spot, -1)
	}
	aWait(t, "one per AZ", func() bool {
		azs := map[string]int{}
		in := aInService(s, "g")
		for _, inst := range in {
			azs[inst.AZ]++
		}
		c := aGroupInstances(s, "g")
		return len(in) == 3 && len(azs) == 3 && c["Terminating"] == 0 && c["Pending"] == 0
	})
}

func TestScenarioLifecycleTimeline(t *testing.T) {
	s := newASim(t, awssim.Options{Speed: 1})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	s.Advance(time.Second)
	insts := s.Instances()
	if len(insts) != 1 || insts[0].State != "pending" || insts[0].Lifecycle != "Pending" {
		t.Fatalf("want one pending instance, got %+v", insts)
	}
	id := insts[0].ID
	s.Advance(25 * time.Second) // EC2 running before the group calls it InService
	if i, _ := s.Instance(id); i.State != "running" || i.Lifecycle != "Pending" {
		t.Fatalf("at 26s: %s/%s", i.State, i.Lifecycle)
	}
	s.Advance(5 * time.Second)
	if i, _ := s.Instance(id); i.Lifecycle != "InService" {
		t.Fatalf("at 31s: %s", i.Lifecycle)
	}
	aNoErr(t, s.TerminateExternally(id))
	if i, _ := s.Instance(id); i.State != "shutting-down" || i.Lifecycle != "Terminating" {
		t.Fatalf("after terminate: %s/%s", i.State, i.Lifecycle)
	}
	s.Advance(21 * time.Second)
	if i, _ := s.Instance(id); i.State != "terminated" || i.Lifecycle != "Terminated" {
		t.Fatalf("after delay: %s/%s", i.State, i.Lifecycle)
	}
	s.Advance(61 * time.Minute)
	if _, ok := s.Instance(id); ok {
		t.Fatal("terminated instance should vanish after an hour")
	}
}

func TestScenarioHealthDetachAndLifecycleOverride(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 2}))
	aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })
	in := aInService(s, "g")
	sick, leaver := in[0].ID, in[1].ID

	aNoErr(t, s.SetHealth(sick, "Unhealthy"))
	aNoErr(t, s.DetachExternally(leaver))
	aWait(t, "both replaced", func() bool {
		i, _ := s.Instance(sick)
		l, _ := s.Instance(leaver)
		return i.State == "terminated" && l.Lifecycle == "Detached" && len(aInService(s, "g")) == 2
	})
	if l, _ := s.Instance(leaver); l.State != "running" {
		t.Fatalf("detached instance should keep running: %s", l.State)
	}
	g := aDescribeGroup(t, aASG(s), "g")
	if len(g.Instances) != 2 {
		t.Fatalf("detached instance still listed: %d", len(g.Instances))
	}

	id := aInService(s, "g")[0].ID
	aNoErr(t, s.SetLifecycleState(id, "Terminating:Retained"))
	if g := aDescribeGroup(t, aASG(s), "g"); !hasState(g, id, "Terminating:Retained") {
		t.Fatal("lifecycle override not visible")
	}
	if err := s.SetLifecycleState(id, "Napping"); err == nil {
		t.Fatal("invalid state accepted")
	}
}

func hasState(g astypes.AutoScalingGroup, id, state string) bool {
	for _, gi := range g.Instances {
		if aws.ToString(gi.InstanceId) == id && string(gi.LifecycleState) == state {
			return true
		}
	}
	return false
}

func TestScenarioImagesAndArchitecture(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c := aASG(s)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "win", Desired: 1, ImageID: awssim.ImageWindowsAMD64, InstanceTypes: []string{"m5.large"}}))
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "arm", Desired: 1, ImageID: awssim.ImageLinuxARM64, InstanceTypes: []string{"m6g.large", "t3.micro"}}))
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "mismatch", Desired: 1, ImageID: awssim.ImageLinuxARM64, InstanceTypes: []string{"t3.micro"}}))
	aWait(t, "win and arm in service", func() bool { return len(aInService(s, "win")) == 1 && len(aInService(s, "arm")) == 1 })
	w := aInService(s, "win")[0]
	if w.Platform != "windows" || w.Password == "" || w.Architecture != "x86_64" {
		t.Fatalf("windows instance %+v", w)
	}
	if a := aInService(s, "arm")[0]; a.InstanceType != "m6g.large" || a.Architecture != "arm64" {
		t.Fatalf("arm instance %s %s", a.InstanceType, a.Architecture)
	}
	aWait(t, "mismatch fails", func() bool { return len(aFailed(aActivities(t, c, "mismatch"))) > 0 })
	if msg := aws.ToString(aFailed(aActivities(t, c, "mismatch"))[0].StatusMessage); !strings.Contains(msg, "The architecture 'x86_64' of the specified instance type does not match the architecture 'arm64' of the specified AMI") {
		t.Fatalf("message %q", msg)
	}
}

func TestScenarioWeightedCapacity(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	lt := aLaunchTemplate(t, s, "tmpl")
	in := aMixedInput("g", lt, 4)
	in.MixedInstancesPolicy.LaunchTemplate.Overrides = []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m5.large"), WeightedCapacity: aws.String("2")}}
	in.MixedInstancesPolicy.InstancesDistribution.OnDemandBaseCapacity = aws.Int32(0)
	_, err := c.CreateAutoScalingGroup(ctx, in)
	aNoErr(t, err)
	aWait(t, "2 weighted instances", func() bool { return len(aInService(s, "g")) == 2 })
	g := aDescribeGroup(t, c, "g")
	if len(g.Instances) != 2 || aws.ToString(g.Instances[0].WeightedCapacity) != "2" {
		t.Fatalf("instances %+v", g.Instances)
	}
}

func TestScenarioAdvanceChainsTimers(t *testing.T) {
	s := newASim(t, awssim.Options{Speed: 1})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	s.Advance(31 * time.Second)
	in := aInService(s, "g")
	if len(in) != 1 {
		t.Fatalf("after 31s: %d in service", len(in))
	}
	aNoErr(t, s.Interrupt(in[0].ID, "terminate"))
	// notice 2m + terminate 20s + boot 30s, in one jump.
	s.Advance(2*time.Minute + 55*time.Second)
	old, _ := s.Instance(in[0].ID)
	now := aInService(s, "g")
	if old.State != "terminated" || len(now) != 1 || now[0].ID == in[0].ID {
		t.Fatalf("old %s, in service %+v", old.State, now)
	}
}
