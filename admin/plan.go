package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/smithy-go"
)

// Op is what a step does to its resource.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

func (o Op) symbol() string {
	switch o {
	case OpCreate:
		return "+"
	case OpDelete:
		return "-"
	}
	return "~"
}

// Step is one change setup makes.
type Step struct {
	Op       Op
	Resource string // "launch template ci-runners"
	Detail   string // what is created or changed
	run      func(ctx context.Context, st *applyState) error
}

func (s Step) String() string {
	line := s.Op.symbol() + " " + string(s.Op) + " " + s.Resource
	if s.Detail != "" {
		line += ": " + s.Detail
	}
	return line
}

// applyState carries what earlier steps learn to later ones (ids and
// versions of resources that exist only once created).
type applyState struct {
	templateID      string
	templateVersion string
	queueURL        string
	queueARN        string
}

// Plan is the list of steps that makes the account match a Spec, with
// what planning learnt about it.
type Plan struct {
	Spec   Spec
	Region string
	Steps  []Step
	// Windows is set when the AMI is a Windows image.
	Windows bool
	// Architecture of the AMI (x86_64, arm64).
	Architecture string
	// AZs the subnets are in.
	AZs []string
	// Notes are advice that needs no change (e.g. a single AZ).
	Notes []string
	// GroupARN of an existing group ("" before it is created).
	GroupARN string
	// SubnetOwner is the account owning the subnets (DescribeSubnets);
	// the account id before the group or queue exists.
	SubnetOwner string
	// SQSEndpoint is the SQS endpoint the clients use ("" = AWS's
	// regional one), for the URL of a queue setup will create.
	SQSEndpoint string

	clients Clients
	state   applyState
}

// QueueURL is the interruption queue's URL: the queue's once it exists,
// before that the URL SQS gives a queue of that name in this account
// ("" when the account is unknown or there is no queue).
func (p *Plan) QueueURL() string {
	if p.state.queueURL != "" || p.Spec.InterruptionQueue == "" || p.Account() == "" {
		return p.state.queueURL
	}
	base := strings.TrimSuffix(p.SQSEndpoint, "/")
	if base == "" {
		base = "https://sqs." + p.Region + "." + dnsSuffix(p.Region)
	}
	return base + "/" + p.Account() + "/" + p.Spec.InterruptionQueue
}

// QueueARN is the interruption queue's ARN: the queue's once it exists,
// before that the one it will get.
func (p *Plan) QueueARN() string {
	if p.state.queueARN != "" || p.Spec.InterruptionQueue == "" || p.Account() == "" {
		return p.state.queueARN
	}
	return "arn:" + partition(p.Region) + ":sqs:" + p.Region + ":" + p.Account() + ":" + p.Spec.InterruptionQueue
}

// Predicted reports whether QueueURL and QueueARN are what setup will
// create rather than what exists.
func (p *Plan) Predicted() bool {
	return p.Spec.InterruptionQueue != "" && p.state.queueURL == "" && p.Account() != ""
}

// Account is the AWS account id, from the group's or queue's ARN, else the
// subnets' owner (a shared VPC's owner is another account: AccountSource
// says which).
func (p *Plan) Account() string {
	a, _ := p.accountAndSource()
	return a
}

// AccountSource names where Account came from ("" when unknown).
func (p *Plan) AccountSource() string {
	_, src := p.accountAndSource()
	return src
}

func (p *Plan) accountAndSource() (string, string) {
	for _, c := range []struct{ arn, src string }{{p.GroupARN, "the group's ARN"}, {p.state.queueARN, "the queue's ARN"}} {
		if f := strings.Split(c.arn, ":"); len(f) > 4 && f[4] != "" {
			return f[4], c.src
		}
	}
	if p.SubnetOwner != "" {
		return p.SubnetOwner, accountFromSubnets
	}
	return "", ""
}

const accountFromSubnets = "the subnets' owner"

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func dnsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// Empty reports whether nothing needs changing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }

// Write prints the plan.
func (p *Plan) Write(w io.Writer) {
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if p.Empty() {
		fmt.Fprintf(w, "Nothing to change: Auto Scaling group %q in %s is set up.\n", p.Spec.Name, p.Region)
		return
	}
	steps := "steps"
	if len(p.Steps) == 1 {
		steps = "step"
	}
	fmt.Fprintf(w, "Plan for Auto Scaling group %q in %s (%d %s):\n", p.Spec.Name, p.Region, len(p.Steps), steps)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

// Apply runs the steps in order, printing each as it is done; it stops at
// the first failure (running setup again resumes from there).
func (p *Plan) Apply(ctx context.Context, w io.Writer) error {
	for i, s := range p.Steps {
		if err := s.run(ctx, &p.state); err != nil {
			return fmt.Errorf("step %d of %d (%s %s): %w", i+1, len(p.Steps), s.Op, s.Resource, err)
		}
		fmt.Fprintf(w, "done: %s %s\n", s.Op, s.Resource)
	}
	return nil
}

func (p *Plan) add(op Op, resource, detail string, run func(ctx context.Context, st *applyState) error) {
	p.Steps = append(p.Steps, Step{Op: op, Resource: resource, Detail: detail, run: run})
}

// errorCode is the AWS error code of err, "" for other errors.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}
