package awssim

import (
	"fmt"
	"strings"
	"time"
)

// Control-API conveniences over the lifecycle hook model: a termination
// hook and its completion in one call each, as a test needs them.

// ControlTerminationHook is the name SetTerminationHook gives its hook.
const ControlTerminationHook = "awssim-termination"

// TerminationHook is a group's termination lifecycle hook
// (autoscaling:EC2_INSTANCE_TERMINATING) together with its instance
// lifecycle policy.
type TerminationHook struct {
	// HeartbeatTimeout is how long (simulated time, rounded up to whole
	// seconds) a termination is held before DefaultResult applies; 0 holds
	// it until it is completed (the API's hooks time out after 30 s to 2 h).
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

// SetTerminationHook puts the group's termination hook, named
// ControlTerminationHook, as PutLifecycleHook would, and sets the group's
// InstanceLifecyclePolicy; nil deletes the hook as DeleteLifecycleHook
// does (terminations it holds continue) and drops the retention.
func (s *Sim) SetTerminationHook(group string, h *TerminationHook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return fmt.Errorf("awssim: no group %s", group)
	}
	now := s.clock.Now()
	if h == nil {
		if g.lifecycleHooks[ControlTerminationHook] != nil {
			s.deleteHookLocked(g, ControlTerminationHook, now)
		}
		g.retainOnAbandon = false
		return nil
	}
	result := strings.ToUpper(h.DefaultResult)
	if result == "" {
		result = "ABANDON"
	}
	if result != "CONTINUE" && result != "ABANDON" {
		return fmt.Errorf("awssim: lifecycle hook default result %q is not CONTINUE or ABANDON", h.DefaultResult)
	}
	if apiErr := s.putHookLocked(g, LifecycleHook{
		Name: ControlTerminationHook, Transition: TransitionTerminating,
		HeartbeatTimeout: int((h.HeartbeatTimeout + time.Second - 1) / time.Second), DefaultResult: result, // whole seconds, rounded up
	}); apiErr != nil {
		return fmt.Errorf("awssim: %s", apiErr.Message)
	}
	g.retainOnAbandon = h.RetainOnAbandon
	return nil
}

// CompleteTermination completes every termination lifecycle action that
// holds an instance in Terminating:Wait with result CONTINUE (terminate
// it) or ABANDON (terminate it, or retain it when the group retains on
// abandon), as CompleteLifecycleAction calls for each hook would.
func (s *Sim) CompleteTermination(id, result string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil || inst.Lifecycle != "Terminating:Wait" || len(inst.hookWaits) == 0 {
		return fmt.Errorf("awssim: no termination lifecycle action for instance %s", id)
	}
	result = strings.ToUpper(result)
	if result != "CONTINUE" && result != "ABANDON" {
		return fmt.Errorf("awssim: lifecycle action result %q is not CONTINUE or ABANDON", result)
	}
	now := s.clock.Now()
	for _, name := range sortedWaits(inst) {
		if inst.Lifecycle != "Terminating:Wait" {
			break
		}
		s.completeActionLocked(inst, name, result, now)
	}
	return nil
}

// SetUserDataDelay sets how long after an instance is running its user
// data completes its launch lifecycle hooks (Options.UserDataDelay);
// negative = never (the hooks' timeouts decide).
func (s *Sim) SetUserDataDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.UserDataDelay = d
}

// LifecycleHooks returns a group's hooks, sorted by name.
func (s *Sim) LifecycleHooks(group string) ([]LifecycleHook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return nil, fmt.Errorf("awssim: no group %s", group)
	}
	var out []LifecycleHook
	for _, h := range sortedHooks(g) {
		out = append(out, *h)
	}
	return out, nil
}
