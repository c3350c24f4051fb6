package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

type scenario struct {
	name string
	run  func(t *testing.T, s *suiteStats)
}

var services = []string{"autoscaling", "ec2", "ec2-instance-connect", "sqs"}

var scenarios = []scenario{
	{"baseline", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(3)
		e.waitRunning(3)
		e.deleteRunning(1)
		e.finish(s)
	}},

	{"throttling storm on every API", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		for _, svc := range services {
			e.injected++
			e.sim.SetThrottle(svc, 4, 4)
			code := map[string]string{"autoscaling": "Throttling", "ec2": "RequestLimitExceeded"}[svc]
			if code == "" {
				code = "ThrottlingException"
			}
			e.inject(awssim.Fault{Service: svc, Code: code, Probability: 0.3})
		}
		e.request(4)
		e.waitRunning(4)
		e.deleteRunning(2)
		e.request(1)
		time.Sleep(time.Second) // the storm goes on a while
		for _, svc := range services {
			e.sim.SetThrottle(svc, 0, 0)
		}
		e.finish(s)
	}},

	{"5xx and connection resets", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.inject(awssim.Fault{Service: "autoscaling", Code: "InternalFailure", Probability: 0.3})
		e.inject(awssim.Fault{Service: "ec2", Code: "Unavailable", Status: 503, Probability: 0.3})
		for _, a := range []string{"DescribeAutoScalingGroups", "SetDesiredCapacity", "TerminateInstanceInAutoScalingGroup"} {
			e.inject(awssim.Fault{Service: "autoscaling", Action: a, Reset: true, Probability: 0.3})
		}
		e.request(3)
		e.waitRunning(3)
		e.deleteRunning(2)
		e.request(1)
		time.Sleep(500 * time.Millisecond)
		e.finish(s)
	}},

	{"calls hang past deadlines", func(t *testing.T, s *suiteStats) {
		// Found by this scenario: fleeting passes Update/Increase/Decrease
		// a context without a deadline, so before api_call_timeout one hung
		// DescribeAutoScalingGroups stalled the provisioner loop for good.
		// A short timeout keeps the scenario fast; the default is 30s.
		e := newEnv(t, awssim.Options{}, map[string]any{"api_call_timeout": "2s"})
		e.start()
		for _, a := range []string{"DescribeAutoScalingGroups", "SetDesiredCapacity", "TerminateInstanceInAutoScalingGroup"} {
			e.inject(awssim.Fault{Service: "autoscaling", Action: a, Hang: true, Count: 1})
		}
		e.request(2)
		e.waitRunning(2)
		e.deleteRunning(1)
		e.finish(s)
	}},

	{"ConnectInfo calls hang past their deadline", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(2)
		e.waitRunning(2)
		insts := e.run.prov.Instances()
		connect := func(i fleeting.Instance, d time.Duration) error {
			c, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			_, err := i.ConnectInfo(c)
			return err
		}
		// A hung key push ends with the caller's deadline; the next try works.
		e.inject(awssim.Fault{Service: "ec2-instance-connect", Action: "SendSSHPublicKey", Hang: true, Count: 1})
		if err := connect(insts[0], time.Second); err == nil {
			t.Fatal("ConnectInfo answered through a hung SendSSHPublicKey")
		}
		if err := connect(insts[0], 20*time.Second); err != nil {
			t.Fatalf("ConnectInfo after the hang: %v", err)
		}
		// A hung DescribeInstances is shared by that instance's callers and
		// bounded by the plugin (a minute): the caller still gets its
		// deadline, and the plugin keeps answering everything else.
		e.inject(awssim.Fault{Service: "ec2", Action: "DescribeInstances", Hang: true, Count: 1})
		start := time.Now()
		if err := connect(insts[1], time.Second); err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("ConnectInfo through a hung DescribeInstances: %v after %v", err, time.Since(start))
		}
		if err := e.alive(); err != nil {
			t.Fatalf("plugin stuck behind a hung ConnectInfo: %v", err)
		}
		e.finish(s)
	}},

	{"credentials expire mid-run, then come back", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(2)
		e.waitRunning(2)
		e.injected++
		e.sim.ExpireCredentials(accessKey, true)
		e.request(1)
		e.eventually("a clear credentials error is logged", func() error {
			if !strings.Contains(e.logs.String(), "AWS rejected the credentials") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if g, _ := e.sim.Group(groupName); g.Desired != 2 {
			t.Errorf("desired capacity moved to %d with expired credentials", g.Desired)
		}
		e.sim.ExpireCredentials(accessKey, false)
		e.finish(s)
	}},

	{"credentials revoked mid-run, then restored", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(2)
		e.waitRunning(2)
		codes := map[string]string{"autoscaling": "InvalidClientTokenId", "ec2": "AuthFailure", "ec2-instance-connect": "UnrecognizedClientException", "sqs": "UnrecognizedClientException"}
		var ids []string
		for svc, code := range codes {
			ids = append(ids, e.inject(awssim.Fault{Service: svc, Code: code, Status: 403, Message: "The security token included in the request is invalid."}))
		}
		e.deleteRunning(1)
		e.eventually("a clear credentials error is logged", func() error {
			if !strings.Contains(e.logs.String(), "AWS rejected the credentials") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		for _, id := range ids {
			e.sim.RemoveFault(id)
		}
		e.finish(s)
	}},

	{"MaxSize lowered mid-run", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(3)
		e.waitRunning(3)
		e.operatorUpdate(&autoscaling.UpdateAutoScalingGroupInput{MaxSize: aws.Int32(3)})
		e.request(2) // cannot be served until instances go
		time.Sleep(500 * time.Millisecond)
		if g, _ := e.sim.Group(groupName); g.Desired > 3 {
			t.Errorf("desired capacity %d above the lowered MaxSize", g.Desired)
		}
		e.deleteRunning(2) // frees room for the two waiting requests
		e.finish(s)
	}},

	{"group deleted mid-run, then recreated", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(2)
		e.waitRunning(2)
		e.injected++
		if _, err := e.asg.DeleteAutoScalingGroup(ctx(t), &autoscaling.DeleteAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(groupName), ForceDelete: aws.Bool(true),
		}); err != nil {
			t.Fatal(err)
		}
		e.eventually("the missing group is reported", func() error {
			if !strings.Contains(e.logs.String(), "not found in region") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if err := e.alive(); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Update without the group: %v", err)
		}
		e.eventually("the deleted group's instances are gone", func() error {
			for _, i := range e.sim.Instances() {
				if i.Tags["aws:autoscaling:groupName"] == groupName && i.State != "terminated" {
					return fmt.Errorf("%s is %s", i.ID, i.State)
				}
			}
			return nil
		})
		if err := e.sim.CreateGroup(awssim.GroupSpec{Name: groupName, MaxSize: maxSize}); err != nil {
			t.Fatal(err)
		}
		e.desired = 0
		e.request(1)
		e.finish(s)
	}},

	{"instances terminated and detached externally", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(3)
		e.waitRunning(3)
		ids := e.runningIDs()
		e.injected += 2
		if err := e.sim.TerminateExternally(ids[0]); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.DetachExternally(ids[1]); err != nil {
			t.Fatal(err)
		}
		// The detached instance is the operator's now: never to be touched.
		e.foreign = append(e.foreign, ids[1])
		e.deleteRunningExcept(1, ids[:2])
		e.finish(s)
	}},

	{"plugin killed during Increase, restarted", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(1)
		e.waitRunning(1)
		e.sim.SetLatency("autoscaling", "SetDesiredCapacity", time.Second)
		calls := e.sim.CallCount("autoscaling", "SetDesiredCapacity")
		e.request(2)
		e.eventually("Increase is in flight", func() error {
			if e.sim.CallCount("autoscaling", "SetDesiredCapacity") == calls {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		e.kill()
		e.sim.SetLatency("autoscaling", "SetDesiredCapacity", 0)
		e.restartAdopting()
		e.finish(s)
	}},

	{"plugin killed during Decrease, restarted", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, nil)
		e.start()
		e.request(3)
		e.waitRunning(3)
		e.sim.SetLatency("autoscaling", "TerminateInstanceInAutoScalingGroup", time.Second)
		calls := e.sim.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup")
		e.deleteRunning(2)
		e.eventually("Decrease is in flight", func() error {
			if e.sim.CallCount("autoscaling", "TerminateInstanceInAutoScalingGroup") == calls {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		e.kill()
		e.sim.SetLatency("autoscaling", "TerminateInstanceInAutoScalingGroup", 0)
		e.restartAdopting()
		e.finish(s)
	}},

	{"plugin killed during the on-demand fallback, restarted", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{}, map[string]any{"on_demand_fallback": map[string]any{"after": "1s", "hold": "10m"}})
		for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
			e.sim.SetPoolCapacity(typ, "", awssim.Spot, 0)
		}
		e.injected++
		e.start()
		e.request(2)
		e.eventually("the group falls back to on-demand", func() error {
			g, _ := e.sim.Group(groupName)
			if _, ok := g.Tags[ec2spot.FallbackTagKey]; !ok || g.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity != 100 {
				return fmt.Errorf("percentage %d, tags %v", g.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity, g.Tags)
			}
			return nil
		})
		e.kill()
		for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
			e.sim.SetPoolCapacity(typ, "", awssim.Spot, -1)
		}
		e.restartAdopting()
		e.finish(s)
		// The restarted process restored the fallback it found (the tag) or
		// still holds it; either way tag and percentage agree.
		g, _ := e.sim.Group(groupName)
		_, tagged := g.Tags[ec2spot.FallbackTagKey]
		if pct := g.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity; tagged != (pct == 100) {
			t.Errorf("fallback state inconsistent after restart: tag %v, on-demand percentage %d", tagged, pct)
		}
	}},

	{"interruption events duplicated, reordered, unknown and malformed", func(t *testing.T, s *suiteStats) {
		e := newEnv(t, awssim.Options{NoticePeriod: 30 * time.Second}, nil)
		url := e.sim.CreateQueue("interruptions")
		if err := e.sim.SubscribeQueue("interruptions"); err != nil {
			t.Fatal(err)
		}
		e.sim.SetEventDelivery(true, true)
		e.injected++
		e.config["interruption_queue_url"] = url
		e.start()
		e.request(3)
		e.waitRunning(3)
		standalone := e.foreign[0]
		for _, body := range []string{
			"not json at all",
			`{"detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":"a string"}`,
			`{"detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":{"instance-id":"i-0deadbeef00000000","instance-action":"terminate"}}`,
			`{"detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":{"instance-id":"` + standalone + `","instance-action":"terminate"}}`,
			`{"detail-type":"EC2 Instance-terminate Lifecycle Action","source":"aws.autoscaling","detail":{"AutoScalingGroupName":"` + bystanderName + `","EC2InstanceId":"` + e.foreign[1] + `"}}`,
			`{"detail-type":"EC2 Spot Instance Interruption Warning","detail":{"instance-id":12}}`,
			`{}`, `[]`, `null`, strings.Repeat("{", 10000),
		} {
			e.injected++
			if err := e.sim.SendRawMessage("interruptions", body); err != nil {
				t.Fatal(err)
			}
		}
		victim := e.runningIDs()[0]
		e.injected++
		if err := e.sim.Interrupt(victim, "terminate"); err != nil {
			t.Fatal(err)
		}
		e.eventually("the interrupted instance is reported deleting", func() error {
			for _, i := range e.run.prov.Instances() {
				if i.ID() == victim && i.State() != provider.StateDeleting {
					return fmt.Errorf("%s is %s", victim, i.State())
				}
			}
			return nil
		})
		if e.sim.CallCount("sqs", "ReceiveMessage") == 0 {
			t.Error("the plugin never read the interruption queue")
		}
		// The group replaces it (desired unchanged); the provisioner sees
		// the replacement as unexpected and the victim go.
		e.finish(s)
	}},
}

// operatorUpdate changes the group the way an operator would.
func (e *env) operatorUpdate(in *autoscaling.UpdateAutoScalingGroupInput) {
	e.t.Helper()
	e.injected++
	in.AutoScalingGroupName = aws.String(groupName)
	if _, err := e.asg.UpdateAutoScalingGroup(ctx(e.t), in); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) runningIDs() []string {
	var ids []string
	for _, i := range e.run.prov.Instances() {
		if i.State() == provider.StateRunning {
			ids = append(ids, i.ID())
		}
	}
	return ids
}

// deleteRunningExcept waits for n running instances other than skip and
// deletes them.
func (e *env) deleteRunningExcept(n int, skip []string) {
	e.t.Helper()
	var victims []fleeting.Instance
	e.eventually("instances to delete", func() error {
		victims = victims[:0]
		for _, i := range e.run.prov.Instances() {
			if i.State() == provider.StateRunning && !contains(skip, i.ID()) {
				victims = append(victims, i)
			}
		}
		if len(victims) < n {
			return fmt.Errorf("%d candidates", len(victims))
		}
		return nil
	})
	for _, v := range victims[:n] {
		v.Delete()
	}
	e.desired -= n
}

// restartAdopting starts a new plugin process and provisioner after a
// kill: every member must come back as preexisted, and the scenario
// carries on from the group's actual desired capacity (the killed
// provisioner's queue died with it, as a runner's would).
func (e *env) restartAdopting() {
	e.t.Helper()
	e.start()
	members := e.members()
	for id := range members {
		c, ok := e.run.causes.Load(id)
		if ok && c != fleeting.CausePreexisted {
			e.t.Errorf("member %s came back as %v, want preexisted", id, c)
		}
	}
	g, _ := e.sim.Group(groupName)
	e.desired = g.Desired
	// Settle at one instance: what is left over from before the kill is
	// removed by the new process.
	if e.desired > 1 {
		e.eventually("survivors are running", func() error {
			if n := len(e.runningIDs()); n < e.desired {
				return fmt.Errorf("%d running of %d", n, e.desired)
			}
			return nil
		})
		e.deleteRunning(e.desired - 1)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
