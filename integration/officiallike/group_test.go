package officiallike_test

import (
	"context"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/officiallike"
)

// The v0.4.0 behaviours the side-by-side comparison relies on.
func TestBehavesLikeV040(t *testing.T) {
	ctx := context.Background()
	sim, err := awssim.Start(awssim.Options{Speed: 100, SSH: &awssim.SSHOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 10}); err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sim.URL()), HTTPClient: ec2spot.NewHTTPClient(0),
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST0000000000", "x", "")}
	g := &officiallike.Group{Name: "g", KeyBits: 2048, Config: cfg}
	info, err := g.Init(ctx, hclog.NewNullLogger(), provider.Settings{})
	if err != nil || info.MaxSize != 1000 {
		t.Fatalf("init: %+v, %v; want the hard-coded MaxSize 1000", info, err)
	}
	if n, err := g.Increase(ctx, 2); n != 2 || err != nil {
		t.Fatalf("increase: %d, %v", n, err)
	}
	// Someone else changes desired; the cached size does not follow.
	asg := autoscaling.NewFromConfig(cfg)
	if _, err := asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Increase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if grp, _ := sim.Group("g"); grp.Desired != 3 {
		t.Errorf("desired %d after Increase(1) from a cached 2, want 3", grp.Desired)
	}

	states := func() map[string]provider.State {
		m := map[string]provider.State{}
		if err := g.Update(ctx, func(id string, s provider.State) { m[id] = s }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	deadline := time.Now().Add(10 * time.Second)
	var running []string
	for len(running) < 3 && time.Now().Before(deadline) {
		running = running[:0]
		for id, s := range states() {
			if s == provider.StateRunning {
				running = append(running, id)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(running) < 3 {
		t.Fatalf("running %v", running)
	}
	if err := sim.SetLifecycleState(running[0], "Standby"); err != nil {
		t.Fatal(err)
	}
	if s := states()[running[0]]; s != provider.StateCreating {
		t.Errorf("Standby reported %s, want creating (v0.4.0's default branch)", s)
	}

	// ConnectInfo: a DescribeInstances and a key push per call.
	before := sim.Calls()
	for range 2 {
		if _, err := g.ConnectInfo(ctx, running[1]); err != nil {
			t.Fatal(err)
		}
	}
	after := sim.Calls()
	for _, call := range []string{"ec2:DescribeInstances", "ec2-instance-connect:SendSSHPublicKey"} {
		if after[call]-before[call] != 2 {
			t.Errorf("%s called %d times for 2 ConnectInfo, want 2", call, after[call]-before[call])
		}
	}

	// Decrease stops at the first error.
	done, err := g.Decrease(ctx, []string{running[1], "i-0000000000000dead", running[2]})
	if err == nil || len(done) != 1 || done[0] != running[1] {
		t.Errorf("decrease: %v, %v; want only the first id and an error", done, err)
	}
}
