package admin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// CLI runs the setup and doctor subcommands.
type CLI struct {
	Stdout, Stderr io.Writer
	// LoadAWS resolves region and credentials; ec2spot.LoadAWSConfig
	// outside tests.
	LoadAWS func(context.Context, ec2spot.AWSOptions) (aws.Config, error)
	// MapState is the plugin's state mapping, for status.
	MapState StateMapper
	// Now is status's clock; nil = time.Now.
	Now func() time.Time
}

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // setup failed, or doctor found failures
	ExitUsage  = 2
)

// Main runs args[0] when it is an admin subcommand (setup, doctor,
// status); handled is false for anything else, which the plugin's own main
// serves. opts complete the CLI (status needs MapState).
func Main(args []string, opts ...func(*CLI)) (code int, handled bool) {
	if len(args) == 0 || (args[0] != "setup" && args[0] != "doctor" && args[0] != "status") {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := CLI{Stdout: os.Stdout, Stderr: os.Stderr, LoadAWS: ec2spot.LoadAWSConfig}
	for _, o := range opts {
		o(&c)
	}
	return c.Run(ctx, args), true
}

// Run runs one subcommand with its arguments (args[0] is its name).
func (c CLI) Run(ctx context.Context, args []string) int {
	switch args[0] {
	case "setup":
		return c.setup(ctx, args[1:])
	case "doctor":
		return c.doctor(ctx, args[1:])
	case "status":
		return c.status(ctx, args[1:])
	}
	fmt.Fprintf(c.Stderr, "unknown command %q (want setup, doctor or status)\n", args[0])
	return ExitUsage
}
