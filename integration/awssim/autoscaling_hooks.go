package awssim

import (
	"fmt"
	"strings"
	"time"
)

// Termination lifecycle hooks and the instance lifecycle policy's
// retention, as AWS runs them [AWS lifecycle hooks; InstanceLifecyclePolicy]:
// an instance the group decides to terminate (TerminateInstanceInAutoScalingGroup,
// scale-in, health or rebalance replacement) waits in Terminating:Wait, still
// running and billing, until CompleteLifecycleAction or the hook's timeout
// (DefaultResult). CONTINUE terminates it (Terminating:Proceed); ABANDON
// terminates it too, unless the group retains on an abandoned hook: then it
// stays running as Terminating:Retained, out of desired capacity, until a
// TerminateInstanceInAutoScalingGroup ends it (that call is not held again).
// Terminations EC2 itself drives (TerminateInstances, a spot reclaim at the
// end of its notice, a stopped instance) are not held: the hook cannot keep
// an instance EC2 is already shutting down.

// TerminationHook is a group's autoscaling:EC2_INSTANCE_TERMINATING hook
// together with the group's InstanceLifecyclePolicy retention trigger.
type TerminationHook struct {
	// Timeout is the hook's HeartbeatTimeout; default 1 h (AWS's default).
	Timeout time.Duration `json:"timeout,omitempty"`
	// DefaultResult applies at the timeout: ABANDON (AWS's default) or CONTINUE.
	DefaultResult string `json:"default_result,omitempty"`
	// RetainOnAbandon is RetentionTriggers.TerminateHookAbandon = retain.
	RetainOnAbandon bool `json:"retain_on_abandon"`
}

// SetTerminationHook attaches (or with nil removes) the group's termination
// lifecycle hook. Instances already waiting keep waiting for their result.
func (s *Sim) SetTerminationHook(group string, hook *TerminationHook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return fmt.Errorf("awssim: no group %s", group)
	}
	if hook == nil {
		g.termHook = nil
		return nil
	}
	h := *hook
	if h.Timeout <= 0 {
		h.Timeout = time.Hour
	}
	if h.DefaultResult == "" {
		h.DefaultResult = "ABANDON"
	}
	if h.DefaultResult != "ABANDON" && h.DefaultResult != "CONTINUE" {
		return fmt.Errorf("awssim: lifecycle hook default result %q is not ABANDON or CONTINUE", h.DefaultResult)
	}
	g.termHook = &h
	return nil
}

// CompleteLifecycleAction ends a held termination with result CONTINUE or
// ABANDON, as the operator's (or a drain script's) CompleteLifecycleAction.
func (s *Sim) CompleteLifecycleAction(id, result string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if result != "ABANDON" && result != "CONTINUE" {
		return fmt.Errorf("awssim: lifecycle action result %q is not ABANDON or CONTINUE", result)
	}
	inst := s.instances[id]
	if inst == nil || inst.Lifecycle != "Terminating:Wait" || inst.hookUntil.IsZero() {
		return fmt.Errorf("awssim: instance %s has no lifecycle action waiting", id)
	}
	s.completeLifecycleActionLocked(inst, result)
	return nil
}

// holdTerminationLocked puts a running member into Terminating:Wait when its
// group has a termination hook; held is false when no hook applies.
func (s *Sim) holdTerminationLocked(inst *Instance, reason, cause string) (act *Activity, held bool) {
	g := s.groups[inst.Group]
	if g == nil || g.termHook == nil || g.members[inst.ID] == nil {
		return nil, false
	}
	switch {
	case inst.State != "running" && inst.State != "pending":
		return nil, false // EC2 is already taking it
	case strings.HasPrefix(reason, "Server."):
		return nil, false // a spot reclaim: EC2 takes it whatever the hook says
	case inst.Lifecycle == "Terminating:Retained":
		return nil, false // the call that ends a retained instance
	case strings.HasPrefix(inst.Lifecycle, "Terminat"):
		return inst.termActivity, true // already held or on its way
	}
	now := s.clock.Now()
	inst.Lifecycle = "Terminating:Wait"
	inst.hookUntil = now.Add(g.termHook.Timeout)
	act = s.addActivityLocked(g, "Terminating EC2 instance: "+inst.ID, cause, inst)
	act.StatusCode, act.Progress = "MidLifecycleAction", 0
	inst.termActivity = act
	return act, true
}

func (s *Sim) lifecycleHookTimeoutLocked(inst *Instance) {
	result := "ABANDON"
	if g := s.groups[inst.Group]; g != nil && g.termHook != nil {
		result = g.termHook.DefaultResult
	}
	s.completeLifecycleActionLocked(inst, result)
}

func (s *Sim) completeLifecycleActionLocked(inst *Instance, result string) {
	inst.hookUntil = time.Time{}
	g := s.groups[inst.Group]
	retain := g != nil && g.termHook != nil && g.termHook.RetainOnAbandon
	if result == "ABANDON" && retain && (inst.State == "running" || inst.State == "pending") {
		inst.Lifecycle = "Terminating:Retained"
		if a := inst.termActivity; a != nil {
			// Unverified against AWS: the activity's final status for a
			// retained instance.
			finishActivity(a, s.clock.Now())
			a.StatusCode, a.StatusMessage = "Cancelled", "Instance retained: the termination lifecycle hook was abandoned."
		}
		return
	}
	s.terminateNowLocked(inst, "Client.UserInitiatedShutdown", inst.termActivityCause())
}

func (inst *Instance) termActivityCause() string {
	if inst.termActivity != nil {
		return inst.termActivity.Cause
	}
	return ""
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
