package awssim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Helpers for helper A's tests (core, Auto Scaling, control); prefixed "a"
// so they never collide with the EC2/SQS tests' helpers.

const (
	aKey    = "AKIDSIMTEST"
	aSecret = "simsecret"
)

// newASim starts a fast simulator (speed 200: a 30 s boot takes 150 ms)
// and runs the test in parallel with the others: each has its own
// simulator, and the clients get everything from aConfig, nothing from the
// environment.
func newASim(t *testing.T, opts awssim.Options) *awssim.Sim {
	t.Helper()
	t.Parallel()
	if opts.Speed == 0 {
		opts.Speed = 200
	}
	s, err := awssim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func aConfig(s *awssim.Sim, key, secret string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   ec2spot.NewHTTPClient(0),
		BaseEndpoint: aws.String(s.URL()),
	}
}

func aASG(s *awssim.Sim) *autoscaling.Client {
	return autoscaling.NewFromConfig(aConfig(s, aKey, aSecret))
}

func aEC2(s *awssim.Sim) *ec2.Client {
	return ec2.NewFromConfig(aConfig(s, aKey, aSecret))
}

// aCtx bounds a test's calls: generous, it only stops a hung test (a
// loaded machine running -race is slow, not broken).
func aCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// aAPIError asserts err is an API error with code and a message containing msg.
func aAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if apiErr.ErrorCode() != code || !strings.Contains(apiErr.ErrorMessage(), msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
}

func aNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// aWait polls cond until it holds or a minute passes.
func aWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// aGroupInstances counts a group's instances by lifecycle state.
func aGroupInstances(s *awssim.Sim, group string) map[string]int {
	out := map[string]int{}
	for _, inst := range s.Instances() {
		if inst.Group == group && inst.State != "terminated" {
			out[inst.Lifecycle]++
		}
	}
	return out
}

// aInService lists the InService instances of a group.
func aInService(s *awssim.Sim, group string) []awssim.Instance {
	var out []awssim.Instance
	for _, inst := range s.Instances() {
		if inst.Group == group && inst.Lifecycle == "InService" {
			out = append(out, inst)
		}
	}
	return out
}
