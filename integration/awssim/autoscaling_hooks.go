package awssim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Lifecycle hooks, one model for both transitions, driven by
// PutLifecycleHook and CompleteLifecycleAction (autoscaling_hooks_api.go;
// SetTerminationHook and CompleteTermination are conveniences over the
// same model):
//
//   - A new member of a group with autoscaling:EC2_INSTANCE_LAUNCHING hooks
//     waits in Pending:Wait (booting, billing) until every such hook is
//     completed with CONTINUE (then Pending:Proceed, InService once
//     running); one ABANDON terminates it and the group launches a
//     replacement. The simulated instance completes its launch hooks
//     itself, as a user-data line would, Options.UserDataDelay after it
//     runs (never when negative).
//   - A termination the group starts (a user request, scale-in,
//     rebalancing, a health replacement) with autoscaling:EC2_INSTANCE_TERMINATING
//     hooks waits in Terminating:Wait (EC2 still running, billing) until
//     every such hook is completed with CONTINUE; ABANDON ends the wait at
//     once ("ABANDON stops any remaining actions"). Either way the instance
//     terminates, unless the group's InstanceLifecyclePolicy retains
//     instances on an abandoned termination hook: then it stays
//     Terminating:Retained (running, not counted toward desired capacity)
//     until TerminateInstanceInAutoScalingGroup terminates it without a new
//     wait. Terminations EC2 drives (TerminateInstances, a spot reclaim) are
//     not held.
//   - A hook's heartbeat timeout applies its default result;
//     RecordLifecycleActionHeartbeat restarts it, up to the global timeout
//     (100 × the heartbeat timeout or 48 hours, whichever is smaller).
//   - DeleteLifecycleHook completes what the hook holds first: ABANDON for
//     launching instances, CONTINUE for terminating ones (AWS's
//     DeleteLifecycleHook reference).

// Lifecycle transitions.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// LifecycleHook is one hook of a group, as PutLifecycleHook stores it.
type LifecycleHook struct {
	Name       string
	Transition string
	// HeartbeatTimeout in seconds: 30–7200 through the API (AWS default
	// 3600); 0, only through SetTerminationHook, holds until completed.
	HeartbeatTimeout      int
	DefaultResult         string
	NotificationMetadata  string
	NotificationTargetARN string
	RoleARN               string
}

// GlobalTimeout is AWS's bound on one action however often it is
// extended: 100 × the heartbeat timeout or 48 hours, whichever is smaller.
func (h LifecycleHook) GlobalTimeout() int { return min(100*h.HeartbeatTimeout, 172800) }

// hookWait is an instance held by one hook.
type hookWait struct {
	transition string
	deadline   time.Time // heartbeat timeout; zero = none
	global     time.Time // global timeout; zero = none
}

func (w hookWait) due(now time.Time) bool {
	return !w.deadline.IsZero() && !now.Before(w.deadline) || !w.global.IsZero() && !now.Before(w.global)
}

// holdLocked starts a wait on inst for every hook of g on transition; it
// reports whether there is one.
func (s *Sim) holdLocked(g *Group, inst *Instance, transition string, now time.Time) bool {
	inst.hookWaits = nil
	for _, h := range g.lifecycleHooks {
		if h.Transition != transition {
			continue
		}
		w := hookWait{transition: transition}
		if h.HeartbeatTimeout > 0 {
			w.deadline = now.Add(time.Duration(h.HeartbeatTimeout) * time.Second)
			w.global = now.Add(time.Duration(h.GlobalTimeout()) * time.Second)
		}
		if inst.hookWaits == nil {
			inst.hookWaits = map[string]hookWait{}
		}
		inst.hookWaits[h.Name] = w
	}
	return len(inst.hookWaits) > 0
}

// holdForLaunchHooksLocked puts a new member of g into Pending:Wait when g
// has launch hooks.
func (s *Sim) holdForLaunchHooksLocked(g *Group, inst *Instance, now time.Time) {
	if s.holdLocked(g, inst, TransitionLaunching, now) {
		inst.Lifecycle = "Pending:Wait"
	}
}

// asgTerminateLocked is a termination the group itself starts: held in
// Terminating:Wait by the group's termination hooks when it has any, else
// at once.
func (s *Sim) asgTerminateLocked(inst *Instance, cause string) *Activity {
	g := s.groups[inst.Group]
	if g == nil || g.members[inst.ID] == nil || (inst.State != "running" && inst.State != "pending") ||
		strings.HasPrefix(inst.Lifecycle, "Terminat") {
		return s.terminateLocked(inst, "Client.UserInitiatedShutdown", cause)
	}
	now := s.clock.Now()
	if !s.holdLocked(g, inst, TransitionTerminating, now) {
		return s.terminateLocked(inst, "Client.UserInitiatedShutdown", cause)
	}
	inst.Lifecycle = "Terminating:Wait"
	act := s.addActivityLocked(g, "Terminating EC2 instance: "+inst.ID, cause, inst)
	act.StatusCode, act.Progress = "MidLifecycleAction", 50
	inst.termActivity = act
	return act
}

// completeActionLocked completes the lifecycle action hook holds on inst
// with result (CompleteLifecycleAction, a heartbeat timeout, user data).
func (s *Sim) completeActionLocked(inst *Instance, hook, result string, now time.Time) {
	w, held := inst.hookWaits[hook]
	if !held {
		return
	}
	delete(inst.hookWaits, hook) // emptied, not nil: still ours to proceed
	switch {
	case w.transition == TransitionLaunching && inst.Lifecycle == "Pending:Wait":
		if result == "ABANDON" {
			inst.hookWaits = nil
			if a := inst.launchActivity; a != nil {
				a.StatusCode, a.Progress, a.EndTime = "Cancelled", 100, now
				a.StatusMessage = "Instance failed to complete user's Lifecycle Action: Lifecycle Action with token was abandoned: Lifecycle Action Completed with ABANDON Result"
				inst.launchActivity = nil
			}
			s.terminateLocked(inst, "Client.UserInitiatedShutdown", fmt.Sprintf("At %s an instance was taken out of service in response to a launch lifecycle action that was abandoned.", asgTime(now)))
			return
		}
		if len(inst.hookWaits) == 0 {
			inst.Lifecycle = "Pending:Proceed"
		}
	case w.transition == TransitionTerminating && inst.Lifecycle == "Terminating:Wait":
		if result == "ABANDON" || len(inst.hookWaits) == 0 {
			inst.hookWaits = nil
			s.endTerminationWaitLocked(inst, result, now)
		}
	}
}

// endTerminationWaitLocked ends a held termination: terminated, or
// retained when it was abandoned and the group retains on abandon.
func (s *Sim) endTerminationWaitLocked(inst *Instance, result string, now time.Time) {
	g := s.groups[inst.Group]
	if result == "ABANDON" && g != nil && g.retainOnAbandon {
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

// advanceHooksLocked applies what is due for instances held by hooks:
// launch hooks completed by user data, default results at a timeout,
// InService once proceeding and running.
func (s *Sim) advanceHooksLocked(now time.Time) {
	for _, g := range s.groups {
		for _, inst := range g.members {
			if inst.hookWaits == nil {
				continue // never held (or a label set by SetLifecycleState)
			}
			switch inst.Lifecycle {
			case "Pending:Wait":
				s.advanceLaunchWaitLocked(inst, now)
			case "Pending:Proceed":
				if inst.State == "running" {
					inst.hookWaits = nil
					s.enterServiceLocked(inst, now)
				}
			case "Terminating:Wait":
				s.applyTimeoutsLocked(g, inst, now)
			default:
				inst.hookWaits = nil
			}
		}
	}
}

func (s *Sim) advanceLaunchWaitLocked(inst *Instance, now time.Time) {
	if inst.State != "pending" && inst.State != "running" {
		return
	}
	if d := s.opts.UserDataDelay; d >= 0 && inst.State == "running" && !now.Before(inst.runningAt.Add(d)) {
		// The user data's CompleteLifecycleAction, for every launch hook.
		for _, name := range sortedWaits(inst) {
			s.completeActionLocked(inst, name, "CONTINUE", now)
		}
		return
	}
	s.applyTimeoutsLocked(s.groups[inst.Group], inst, now)
}

// applyTimeoutsLocked applies the default result of every hook whose
// timeout has passed, until the instance leaves its wait.
func (s *Sim) applyTimeoutsLocked(g *Group, inst *Instance, now time.Time) {
	wait := inst.Lifecycle
	for _, name := range sortedWaits(inst) {
		if !inst.hookWaits[name].due(now) {
			continue
		}
		result := "ABANDON"
		if h := g.lifecycleHooks[name]; h != nil {
			result = h.DefaultResult
		}
		s.completeActionLocked(inst, name, result, now)
		if inst.Lifecycle != wait {
			return
		}
	}
}

func sortedWaits(inst *Instance) []string {
	out := make([]string, 0, len(inst.hookWaits))
	for name := range inst.hookWaits {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func sortedHooks(g *Group) []*LifecycleHook {
	out := make([]*LifecycleHook, 0, len(g.lifecycleHooks))
	for _, h := range g.lifecycleHooks {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// deleteHookLocked removes a hook, completing what it holds first: ABANDON
// for launching instances, CONTINUE for terminating ones.
func (s *Sim) deleteHookLocked(g *Group, name string, now time.Time) {
	delete(g.lifecycleHooks, name)
	for _, inst := range g.members {
		if w, held := inst.hookWaits[name]; held {
			result := "CONTINUE"
			if w.transition == TransitionLaunching {
				result = "ABANDON"
			}
			s.completeActionLocked(inst, name, result, now)
		}
	}
}
