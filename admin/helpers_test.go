package admin_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func newSim(t *testing.T) (*awssim.Sim, aws.Config) {
	t.Helper()
	sim, err := awssim.Start(awssim.Options{Speed: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDADMIN", "secret", ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint: aws.String(sim.URL()),
		HTTPClient:   ec2spot.NewHTTPClient(0),
	}
}

type run struct {
	code           int
	stdout, stderr string
}

// runCLI runs a subcommand against the simulator.
func runCLI(t *testing.T, cfg aws.Config, args ...string) run {
	t.Helper()
	var out, errOut bytes.Buffer
	c := admin.CLI{Stdout: &out, Stderr: &errOut, LoadAWS: func(context.Context, ec2spot.AWSOptions) (aws.Config, error) { return cfg, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := c.Run(ctx, args)
	return run{code, out.String(), errOut.String()}
}

// setupArgs is a complete setup of group "runners" with a queue.
func setupArgs(extra ...string) []string {
	return append([]string{"setup",
		"--name", "runners", "--ami", awssim.ImageLinuxAMD64,
		"--instance-types", "t3.micro,t3a.micro,m5.large",
		"--subnets", "subnet-00000000000000001,subnet-00000000000000002,subnet-00000000000000003",
		"--max-size", "10", "--on-demand-base", "1", "--interruption-queue", "runners-events",
		"--tag", "team=ci",
	}, extra...)
}
