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

	clients Clients
	state   applyState
}

// QueueURL is the interruption queue's URL once known.
func (p *Plan) QueueURL() string { return p.state.queueURL }

// QueueARN is the interruption queue's ARN once known.
func (p *Plan) QueueARN() string { return p.state.queueARN }

// Account is the AWS account id, from the group's or queue's ARN.
func (p *Plan) Account() string {
	for _, arn := range []string{p.GroupARN, p.state.queueARN} {
		if f := strings.Split(arn, ":"); len(f) > 4 && f[4] != "" {
			return f[4]
		}
	}
	return ""
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
