package awssim

import (
	"regexp"
	"time"
)

// The lifecycle hook operations: PutLifecycleHook, DescribeLifecycleHooks,
// DeleteLifecycleHook, CompleteLifecycleAction,
// RecordLifecycleActionHeartbeat (the model is in autoscaling_hooks.go).

var hookNameRE = regexp.MustCompile(`^[A-Za-z0-9\-_/]{1,255}$`)

func (s *Sim) putLifecycleHook(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	name := q.Required("LifecycleHookName")
	transition, defaultResult := q.Str("LifecycleTransition"), q.Str("DefaultResult")
	timeout, timeoutSet := q.Int("HeartbeatTimeout")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	if !hookNameRE.MatchString(name) {
		return nil, validationError("1 validation error detected: Value '%s' at 'lifecycleHookName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\-_\\/]+", name)
	}
	h := LifecycleHook{Name: name, HeartbeatTimeout: 3600, DefaultResult: "ABANDON"}
	if old := g.lifecycleHooks[name]; old != nil {
		h = *old // a put updates only what it names
	} else if transition == "" {
		return nil, validationError("A lifecycle transition must be specified when creating a lifecycle hook.")
	}
	if transition != "" {
		if transition != TransitionLaunching && transition != TransitionTerminating {
			return nil, validationError("Invalid Lifecycle Transition: %s", transition)
		}
		h.Transition = transition
	}
	if defaultResult != "" {
		if defaultResult != "CONTINUE" && defaultResult != "ABANDON" {
			return nil, validationError("Valid values for DefaultResult are CONTINUE and ABANDON, got %s", defaultResult)
		}
		h.DefaultResult = defaultResult
	}
	if timeoutSet {
		if timeout < 30 || timeout > 7200 {
			return nil, validationError("Heartbeat timeout must be between 30 and 7200 seconds, got %d", timeout)
		}
		h.HeartbeatTimeout = timeout
	}
	for _, f := range []struct {
		key string
		to  *string
	}{{"NotificationMetadata", &h.NotificationMetadata}, {"NotificationTargetARN", &h.NotificationTargetARN}, {"RoleARN", &h.RoleARN}} {
		if q.Has(f.key) {
			*f.to = q.Str(f.key)
		}
	}
	return nil, s.putHookLocked(g, h)
}

// putHookLocked stores h in g (at most 50 hooks per group).
func (s *Sim) putHookLocked(g *Group, h LifecycleHook) *APIError {
	if g.lifecycleHooks == nil {
		g.lifecycleHooks = map[string]*LifecycleHook{}
	}
	if g.lifecycleHooks[h.Name] == nil && len(g.lifecycleHooks) >= 50 {
		return errf("LimitExceeded", 400, "Max number of lifecycle hooks for this group (50) reached")
	}
	g.lifecycleHooks[h.Name] = &h
	return nil
}

type xmlLifecycleHook struct {
	LifecycleHookName     string
	AutoScalingGroupName  string
	LifecycleTransition   string
	NotificationTargetARN string `xml:",omitempty"`
	RoleARN               string `xml:",omitempty"`
	NotificationMetadata  string `xml:",omitempty"`
	HeartbeatTimeout      int
	GlobalTimeout         int
	DefaultResult         string
}

func (s *Sim) describeLifecycleHooks(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	names := q.List("LifecycleHookNames")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := struct {
		LifecycleHooks []xmlLifecycleHook `xml:"LifecycleHooks>member"`
	}{LifecycleHooks: []xmlLifecycleHook{}}
	for _, h := range sortedHooks(g) {
		if len(want) > 0 && !want[h.Name] {
			continue
		}
		out.LifecycleHooks = append(out.LifecycleHooks, xmlLifecycleHook{
			LifecycleHookName: h.Name, AutoScalingGroupName: g.Name, LifecycleTransition: h.Transition,
			NotificationTargetARN: h.NotificationTargetARN, RoleARN: h.RoleARN, NotificationMetadata: h.NotificationMetadata,
			HeartbeatTimeout: h.HeartbeatTimeout, GlobalTimeout: h.GlobalTimeout(), DefaultResult: h.DefaultResult,
		})
	}
	return out, nil
}

func (s *Sim) deleteLifecycleHook(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	name := q.Required("LifecycleHookName")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	if g.lifecycleHooks[name] == nil {
		return nil, validationError("No Lifecycle Hook found with name %s for group %s", name, g.Name)
	}
	s.deleteHookLocked(g, name, s.clock.Now())
	return nil, nil
}

// heldLocked resolves the instance and hook of a lifecycle action call, as
// AWS words a missing one.
func (s *Sim) heldLocked(q *params) (*Instance, string, *APIError) {
	groupName := q.Required("AutoScalingGroupName")
	hook := q.Required("LifecycleHookName")
	id, token := q.Str("InstanceId"), q.Str("LifecycleActionToken")
	if apiErr := q.Err(); apiErr != nil {
		return nil, "", apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, "", apiErr
	}
	if g.lifecycleHooks[hook] == nil {
		return nil, "", validationError("No Lifecycle Hook found with name %s for group %s", hook, g.Name)
	}
	if id == "" {
		// Tokens come with hook notifications, which the simulator does
		// not send; the instance id is how user data completes a hook.
		return nil, "", validationError("No active Lifecycle Action found with token %s", token)
	}
	inst := g.members[id]
	if inst == nil {
		return nil, "", validationError("No active Lifecycle Action found with instance ID %s", id)
	}
	if _, held := inst.hookWaits[hook]; !held {
		return nil, "", validationError("No active Lifecycle Action found with instance ID %s", id)
	}
	return inst, hook, nil
}

func (s *Sim) completeLifecycleAction(r *request) (any, *APIError) {
	q := newParams(r.Params)
	result := q.Required("LifecycleActionResult")
	inst, hook, apiErr := s.heldLocked(q)
	if apiErr != nil {
		return nil, apiErr
	}
	if result != "CONTINUE" && result != "ABANDON" {
		return nil, validationError("Valid values for LifecycleActionResult are CONTINUE and ABANDON, got %s", result)
	}
	s.completeActionLocked(inst, hook, result, s.clock.Now())
	return nil, nil
}

func (s *Sim) recordLifecycleActionHeartbeat(r *request) (any, *APIError) {
	inst, hook, apiErr := s.heldLocked(newParams(r.Params))
	if apiErr != nil {
		return nil, apiErr
	}
	w := inst.hookWaits[hook]
	if h := s.groups[inst.Group].lifecycleHooks[hook]; h.HeartbeatTimeout > 0 {
		w.deadline = minTime(s.clock.Now().Add(time.Duration(h.HeartbeatTimeout)*time.Second), w.global)
	}
	inst.hookWaits[hook] = w
	return nil, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
