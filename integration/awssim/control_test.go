package awssim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// aControl calls the HTTP control API and decodes the JSON answer into out.
func aControl(t *testing.T, s *awssim.Sim, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, s.URL()+path, rd)
	resp, err := http.DefaultClient.Do(req)
	aNoErr(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func TestClock(t *testing.T) {
	s := newASim(t, awssim.Options{Speed: 1})
	time.Sleep(50 * time.Millisecond) // a clock rebased at the new speed would jump ≥ 50 s
	real0, t0 := time.Now(), s.Now()
	s.SetSpeed(1000)
	jump, wall := s.Now().Sub(t0), time.Since(real0)
	// At most 1000× the real time that passed (preemption under load
	// included), plus a second.
	if jump > 1000*wall+time.Second {
		t.Fatalf("SetSpeed jumped %v in %v of real time", jump, wall)
	}
	time.Sleep(20 * time.Millisecond)
	if d := s.Now().Sub(t0); d < 15*time.Second {
		t.Fatalf("speed 1000: only %v passed in 20ms", d)
	}
	t1 := s.Now()
	s.SetSpeed(1)
	s.Advance(time.Hour)
	if d := s.Now().Sub(t1); d < time.Hour || d > time.Hour+5*time.Second {
		t.Fatalf("Advance(1h) moved %v", d)
	}
}

func TestControlHTTP(t *testing.T) {
	s := newASim(t, awssim.Options{})
	var g awssim.Group
	aControl(t, s, "POST", "/_sim/groups", map[string]any{"name": "g", "desired": 2, "instance_types": []string{"t3.micro"}}, 200, &g)
	if g.Name != "g" || g.Desired != 2 || g.Mixed == nil || !g.NewInstancesProtectedFromScaleIn {
		t.Fatalf("group %+v", g)
	}
	aWait(t, "2 in service", func() bool { return len(aInService(s, "g")) == 2 })

	var insts []awssim.Instance
	aControl(t, s, "GET", "/_sim/instances", nil, 200, &insts)
	if len(insts) != 2 {
		t.Fatalf("instances %d", len(insts))
	}
	aControl(t, s, "POST", "/_sim/interrupt", map[string]string{"instance_id": insts[0].ID, "action": "terminate"}, 200, nil)
	aControl(t, s, "POST", "/_sim/interrupt", map[string]string{"instance_id": "i-nope"}, 400, nil)
	aControl(t, s, "POST", "/_sim/rebalance", map[string]string{"instance_id": insts[1].ID}, 200, nil)
	aControl(t, s, "POST", "/_sim/advance", map[string]string{"duration": "3m"}, 200, nil)
	if i, _ := s.Instance(insts[0].ID); i.State != "shutting-down" && i.State != "terminated" {
		t.Fatalf("interrupted instance %s", i.State)
	}

	aControl(t, s, "POST", "/_sim/pools", map[string]any{"instance_type": "t3.micro", "az": "", "market": "spot", "capacity": 0}, 200, nil)
	aControl(t, s, "POST", "/_sim/pools", map[string]any{"instance_type": "t3.micro", "market": "cheap"}, 400, nil)
	var pools []map[string]any
	aControl(t, s, "GET", "/_sim/pools", nil, 200, &pools)
	if len(pools) != 3 {
		t.Fatalf("pools %v", pools)
	}

	var fault map[string]string
	aControl(t, s, "POST", "/_sim/faults", map[string]any{"service": "autoscaling", "code": "InternalFailure"}, 200, &fault)
	_, err := aASG(s).DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{})
	aAPIError(t, err, "InternalFailure", "")
	aControl(t, s, "DELETE", "/_sim/faults?id="+fault["id"], nil, 200, nil)
	aControl(t, s, "POST", "/_sim/faults", map[string]any{"service": "ec2", "code": "X"}, 200, nil)
	aControl(t, s, "DELETE", "/_sim/faults", nil, 200, nil)
	_, err = aASG(s).DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{})
	aNoErr(t, err)

	aControl(t, s, "POST", "/_sim/latency", map[string]any{"service": "autoscaling", "delay": "1ms"}, 200, nil)
	aControl(t, s, "POST", "/_sim/throttle", map[string]any{"service": "autoscaling", "rate": 0}, 200, nil)
	aControl(t, s, "POST", "/_sim/expire-credentials", map[string]any{"access_key": "AKIDX", "expired": true}, 200, nil)
	aControl(t, s, "POST", "/_sim/speed", map[string]any{"speed": 50}, 200, nil)

	var calls map[string]int
	aControl(t, s, "GET", "/_sim/calls", nil, 200, &calls)
	if calls["autoscaling:DescribeAutoScalingGroups"] != 2 {
		t.Fatalf("calls %v", calls)
	}
	aControl(t, s, "DELETE", "/_sim/calls", nil, 200, nil)

	var groups []awssim.Group
	aControl(t, s, "GET", "/_sim/groups", nil, 200, &groups)
	if len(groups) != 1 || len(groups[0].Activities) == 0 {
		t.Fatalf("groups %+v", groups)
	}
	id := aInService(s, "g")[0].ID
	aControl(t, s, "POST", "/_sim/lifecycle", map[string]string{"instance_id": id, "state": "Standby"}, 200, nil)
	aControl(t, s, "POST", "/_sim/health", map[string]string{"instance_id": id, "status": "Sick"}, 400, nil)

	aControl(t, s, "POST", "/_sim/reset", nil, 200, nil)
	aControl(t, s, "GET", "/_sim/groups", nil, 200, &groups)
	if len(groups) != 0 || len(s.Instances()) != 0 || len(s.Calls()) != 0 {
		t.Fatalf("reset left %d groups %d instances", len(groups), len(s.Instances()))
	}
	aControl(t, s, "GET", "/_sim/nothing", nil, 404, nil)
	aControl(t, s, "PUT", "/_sim/reset", nil, 405, nil)
	aControl(t, s, "POST", "/_sim/speed", "not an object", 400, nil)
}

// Many instances: a group of 1200 is described whole and accepts a scale-in.
// How fast is BenchmarkDescribeAutoScalingGroups1000's to show, not a
// timed test's (a loaded machine running -race is slow, not broken).
func TestLargeGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	s := newASim(t, awssim.Options{})
	c, ctx := aASG(s), aCtx(t)
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "big", MaxSize: 1500, Desired: 1200}))
	aWait(t, "1200 in service", func() bool { return len(aInService(s, "big")) == 1200 })
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"big"}})
	aNoErr(t, err)
	if len(out.AutoScalingGroups[0].Instances) != 1200 {
		t.Fatalf("instances %d", len(out.AutoScalingGroups[0].Instances))
	}
	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("big"), DesiredCapacity: aws.Int32(0)})
	aNoErr(t, err)
}

func BenchmarkDescribeAutoScalingGroups1000(b *testing.B) {
	s, err := awssim.Start(awssim.Options{Speed: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateGroup(awssim.GroupSpec{Name: "big", MaxSize: 1000, Desired: 1000}); err != nil {
		b.Fatal(err)
	}
	for len(aInService(s, "big")) < 1000 {
		time.Sleep(10 * time.Millisecond)
	}
	c := aASG(s)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"big"}}); err != nil {
			b.Fatal(err)
		}
	}
}
