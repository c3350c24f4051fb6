package ec2spot

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/simtest"
)

// Helpers for tests over the real SDK clients pointed at the simulator.

// TestMain sets the environment every test shares (fake credentials,
// region); each test reaches its own simulator through
// AWSOptions.Endpoint, so tests run in parallel.
func TestMain(m *testing.M) {
	simtest.StaticEnv()
	os.Exit(m.Run())
}

// fastSim starts a fast simulator for the test (and its subtests).
func fastSim(t *testing.T, opts awssim.Options) *awssim.Sim {
	t.Helper()
	return simtest.New(t, opts)
}

// testCtx bounds a test's calls: generous, it only stops a hung test (a
// loaded machine running -race is slow, not broken).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testAWSConfig loads the SDK config the way the plugin does, with zero
// retry delays.
func testAWSConfig(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := LoadAWSConfig(testCtx(t), AWSOptions{RetryBackoff: ZeroBackoff, Endpoint: simtest.Endpoint(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's default HTTP client can lose a response to a local server
	// under CPU load (see CloseSafeClient).
	cfg.HTTPClient = NewHTTPClient(0)
	return cfg
}

// newTestGroup creates the group in the simulator and a Group over it.
func newTestGroup(t *testing.T, s *awssim.Sim, spec awssim.GroupSpec, mod ...func(*GroupOptions)) *Group {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "runners"
	}
	if err := s.CreateGroup(spec); err != nil {
		t.Fatal(err)
	}
	cfg := testAWSConfig(t)
	o := GroupOptions{Name: spec.Name, Region: cfg.Region, Clients: NewClients(cfg)}
	for _, m := range mod {
		m(&o)
	}
	return NewGroup(o)
}

// operator is an SDK client acting outside the plugin (console, Terraform).
func operator(t *testing.T) *autoscaling.Client {
	return autoscaling.NewFromConfig(testAWSConfig(t))
}

// eventually polls cond until it holds or fails the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inService waits until the group has n InService members and returns
// their ids.
func inService(t *testing.T, g *Group, n int) []string {
	t.Helper()
	var ids []string
	eventually(t, "instances in service", func() bool {
		snap, _, err := g.Refresh(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, i := range snap.Instances {
			if i.Phase == PhaseInService {
				ids = append(ids, i.ID)
			}
		}
		return len(ids) == n
	})
	return ids
}

// putPolicy attaches a target-tracking policy to the group "runners".
func putPolicy(t *testing.T, name string) {
	t.Helper()
	_, err := operator(t).PutScalingPolicy(testCtx(t), &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("runners"),
		PolicyName:           aws.String(name),
		PolicyType:           aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &types.TargetTrackingConfiguration{
			TargetValue:                   aws.Float64(50),
			PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeASGAverageCPUUtilization},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}
