package awssim

// Stubs of the functions helper A (core, Auto Scaling, control) owns, so the
// package compiles while both halves are written. Delete each as it is
// implemented in its real file; delete this file when empty.

import (
	"net/http"
	"time"
)

type clock struct{}

func (c *clock) Now() time.Time { return time.Now() }

type faults struct{}

// beforeCall counts the call, applies injected latency, throttling and
// injected errors. Runs without s.mu.
func (s *Sim) beforeCall(r *request) *APIError { return nil }

// checkSignature verifies the SigV4 signature when Options.Credentials is set
// and rejects malformed ones.
func (s *Sim) checkSignature(hr *http.Request, body []byte, m []string) *APIError { return nil }

func (s *Sim) newRequestID() string { return "00000000-0000-0000-0000-000000000000" }

// advanceLocked moves the world to the current simulated time.
func (s *Sim) advanceLocked() {}

func (s *Sim) serveControl(w http.ResponseWriter, hr *http.Request) {}

// launchParams describe one instance to create.
type launchParams struct {
	ImageID        string
	InstanceType   string
	AZ             string
	SubnetID       string
	KeyName        string
	Market         Market
	Group          string // "" for RunInstances
	LaunchTemplate *LaunchTemplateSpec
	Tags           map[string]string
}

// newInstanceLocked creates an instance in EC2 state pending (and its spot
// request, addresses, Windows password and SSH host).
func (s *Sim) newInstanceLocked(p launchParams) *Instance { return nil }

// terminateInstanceLocked starts terminating inst: EC2 shutting-down, ASG
// Terminating; reason is the EC2 StateReason code.
func (s *Sim) terminateInstanceLocked(inst *Instance, reason string) {}
