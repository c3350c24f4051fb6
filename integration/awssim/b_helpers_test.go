package awssim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Helpers of the EC2 / Instance Connect / SQS tests: a simulator and the
// real SDK clients pointed at it.

type bClients struct {
	sim *awssim.Sim
	ec2 *ec2.Client
	eic *ec2instanceconnect.Client
	sqs *sqs.Client
}

// newBSim starts a simulator with clients for it and runs the test in
// parallel with the others (its own simulator, no environment).
func newBSim(t *testing.T, opts awssim.Options) *bClients {
	t.Helper()
	t.Parallel()
	sim, err := awssim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return newBClientsFor(sim)
}

// newBClientsFor makes the SDK clients for a running simulator.
func newBClientsFor(sim *awssim.Sim) *bClients {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(sim.URL()),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   ec2spot.NewHTTPClient(0),
	}
	return &bClients{sim: sim, ec2: ec2.NewFromConfig(cfg), eic: ec2instanceconnect.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
}

// bCtx bounds a test's calls: generous, it only stops a hung test.
func bCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// wantAPIError checks err is an smithy.APIError with code (and, when msg
// is not "", that message).
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not a smithy.APIError (want %s)", err, code)
	}
	if apiErr.ErrorCode() != code || (msg != "" && apiErr.ErrorMessage() != msg) {
		t.Fatalf("error = %s: %q; want %s: %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, msg)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
