package awssim

import (
	"fmt"
	"strings"
	"time"
)

// Termination lifecycle hooks, as far as a plugin can tell them apart: a
// hook holds a termination the group starts in Terminating:Wait (the EC2
// instance keeps running and billing) until the action is completed or
// its heartbeat timeout applies the default result; with the group's
// InstanceLifecyclePolicy retaining on an abandoned hook, ABANDON leaves
// the instance Terminating:Retained until TerminateInstanceInAutoScalingGroup
// terminates it. Modelled through the control API only (no
// PutLifecycleHook/CompleteLifecycleAction operations).

// TerminationHook is a group's termination lifecycle hook
// (autoscaling:EC2_INSTANCE_TERMINATING) together with its instance
// lifecycle policy.
type TerminationHook struct {
	// HeartbeatTimeout is how long (simulated time) a termination is held
	// before DefaultResult applies; 0 holds it until CompleteTermination.
	HeartbeatTimeout time.Duration
	// DefaultResult applies at the timeout: ABANDON (default, as AWS's) or
	// CONTINUE.
	DefaultResult string
	// RetainOnAbandon is the InstanceLifecyclePolicy retention trigger
	// TerminateHookAbandon=retain: an abandoned termination leaves the
	// instance Terminating:Retained (running, not counted toward desired
	// capacity) instead of terminating it.
	RetainOnAbandon bool
}

// SetTerminationHook puts (nil removes) the group's termination hook.
// Terminations already held stay held.
func (s *Sim) SetTerminationHook(group string, h *TerminationHook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return fmt.Errorf("awssim: no group %s", group)
	}
	if h == nil {
		g.terminationHook = nil
		return nil
	}
	c := *h
	c.DefaultResult = strings.ToUpper(c.DefaultResult)
	if c.DefaultResult == "" {
		c.DefaultResult = "ABANDON"
	}
	if c.DefaultResult != "CONTINUE" && c.DefaultResult != "ABANDON" {
		return fmt.Errorf("awssim: lifecycle hook default result %q is not CONTINUE or ABANDON", h.DefaultResult)
	}
	g.terminationHook = &c
	return nil
}

// CompleteTermination completes the termination lifecycle action of an
// instance held in Terminating:Wait with result CONTINUE (terminate it) or
// ABANDON (terminate it, or retain it when the group retains on abandon),
// as CompleteLifecycleAction would.
func (s *Sim) CompleteTermination(id, result string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil || inst.Lifecycle != "Terminating:Wait" {
		return fmt.Errorf("awssim: no termination lifecycle action for instance %s", id)
	}
	result = strings.ToUpper(result)
	if result != "CONTINUE" && result != "ABANDON" {
		return fmt.Errorf("awssim: lifecycle action result %q is not CONTINUE or ABANDON", result)
	}
	s.completeTerminationLocked(inst, result, s.clock.Now())
	return nil
}

// asgTerminateLocked is a termination the group itself starts (user
// request, scale-in, rebalancing, health replacement): held by the group's
// termination hook when it has one, else at once.
func (s *Sim) asgTerminateLocked(inst *Instance, cause string) *Activity {
	g := s.groups[inst.Group]
	if g == nil || g.terminationHook == nil || g.members[inst.ID] == nil ||
		(inst.State != "running" && inst.State != "pending") || strings.HasPrefix(inst.Lifecycle, "Terminat") {
		return s.terminateLocked(inst, "Client.UserInitiatedShutdown", cause)
	}
	now := s.clock.Now()
	inst.Lifecycle = "Terminating:Wait"
	inst.hookDeadline = time.Time{}
	if d := g.terminationHook.HeartbeatTimeout; d > 0 {
		inst.hookDeadline = now.Add(d)
	}
	act := s.addActivityLocked(g, "Terminating EC2 instance: "+inst.ID, cause, inst)
	act.StatusCode, act.Progress = "MidLifecycleAction", 50
	inst.termActivity = act
	return act
}

// completeTerminationLocked ends a held termination with result.
func (s *Sim) completeTerminationLocked(inst *Instance, result string, now time.Time) {
	inst.hookDeadline = time.Time{}
	g := s.groups[inst.Group]
	if result == "ABANDON" && g != nil && g.terminationHook != nil && g.terminationHook.RetainOnAbandon {
		inst.Lifecycle = "Terminating:Retained"
		if a := inst.termActivity; a != nil {
			a.StatusCode, a.Progress, a.EndTime = "Cancelled", 100, now
			a.StatusMessage = "Instance retained: the termination lifecycle action was abandoned and the instance lifecycle policy retains it."
		}
		return
	}
	act := inst.termActivity
	s.shutDownLocked(inst, "Client.UserInitiatedShutdown")
	inst.Lifecycle = "Terminating:Proceed"
	if act != nil {
		act.StatusCode, act.Progress = "InProgress", 75
	}
}

// advanceHookLocked applies the default result of a held termination
// whose heartbeat timeout has passed; it reports whether it did.
func (s *Sim) advanceHookLocked(inst *Instance, now time.Time) bool {
	if inst.Lifecycle != "Terminating:Wait" || inst.hookDeadline.IsZero() || now.Before(inst.hookDeadline) {
		return false
	}
	result := "ABANDON"
	if g := s.groups[inst.Group]; g != nil && g.terminationHook != nil {
		result = g.terminationHook.DefaultResult
	}
	s.completeTerminationLocked(inst, result, now)
	return true
}

// Options.TerminateBatch values.
const (
	// TerminateBatchValidationError: the batch form's parameters are
	// ignored, so the call has no InstanceId: ValidationError, as AWS's own
	// older API answers.
	TerminateBatchValidationError = "validation-error"
	// TerminateBatchServerError: a compatible endpoint that fails the call
	// with a 500 InternalFailure.
	TerminateBatchServerError = "server-error"
)

// SetTerminateBatch switches the batch form of
// TerminateInstanceInAutoScalingGroup on ("") or off (see
// Options.TerminateBatch).
func (s *Sim) SetTerminateBatch(mode string) error {
	if mode != "" && mode != TerminateBatchValidationError && mode != TerminateBatchServerError {
		return fmt.Errorf("awssim: terminate batch mode %q is not \"\", %q or %q", mode, TerminateBatchValidationError, TerminateBatchServerError)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.TerminateBatch = mode
	return nil
}

// SetDesiredExternally sets a group's desired capacity as an operator, a
// scaling policy or a scheduled action would (not through the plugin's
// calls, so injected faults do not apply). The usual size limits hold.
func (s *Sim) SetDesiredExternally(group string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return fmt.Errorf("awssim: no group %s", group)
	}
	if apiErr := sizeError(g.MinSize, g.MaxSize, n); apiErr != nil {
		return fmt.Errorf("awssim: %s", apiErr.Message)
	}
	g.Desired = n
	return nil
}
