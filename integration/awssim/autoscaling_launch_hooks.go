package awssim

import (
	"fmt"
	"regexp"
	"sort"
	"time"
)

// Lifecycle hooks over the API (PutLifecycleHook, DescribeLifecycleHooks,
// DeleteLifecycleHook, CompleteLifecycleAction,
// RecordLifecycleActionHeartbeat) and what launch hooks do: a new member
// of a group with an autoscaling:EC2_INSTANCE_LAUNCHING hook waits in
// Pending:Wait (booting, billing) until every such hook is completed with
// CONTINUE (then Pending:Proceed and InService once running), one is
// completed with ABANDON (terminated; the group launches a replacement),
// or a hook's heartbeat timeout applies its default result. The
// simulated instance completes its hooks itself, as a user-data line
// would, Options.UserDataDelay after it is running (never when negative).
// Termination hooks stored here are described but hold nothing (see
// SetTerminationHook for those).

func init() {
	register(svcAutoScaling, "PutLifecycleHook", (*Sim).putLifecycleHook)
	register(svcAutoScaling, "DescribeLifecycleHooks", (*Sim).describeLifecycleHooks)
	register(svcAutoScaling, "DeleteLifecycleHook", (*Sim).deleteLifecycleHook)
	register(svcAutoScaling, "CompleteLifecycleAction", (*Sim).completeLifecycleAction)
	register(svcAutoScaling, "RecordLifecycleActionHeartbeat", (*Sim).recordLifecycleActionHeartbeat)
}

// Lifecycle transitions.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// LifecycleHook is one hook of a group, as PutLifecycleHook stores it.
type LifecycleHook struct {
	Name                  string
	Transition            string
	HeartbeatTimeout      int // seconds, 30–7200; AWS default 3600
	DefaultResult         string
	NotificationMetadata  string
	NotificationTargetARN string
	RoleARN               string
}

// GlobalTimeout is AWS's bound on one action however often it is
// extended: 100 × the heartbeat timeout or 48 hours, whichever is smaller.
func (h LifecycleHook) GlobalTimeout() int { return min(100*h.HeartbeatTimeout, 172800) }

// launchWait is an instance held by one launch hook.
type launchWait struct {
	deadline time.Time // heartbeat timeout
	global   time.Time // global timeout
}

var hookNameRE = regexp.MustCompile(`^[A-Za-z0-9\-_/]{1,255}$`)

func (s *Sim) putLifecycleHook(r *request) (any, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	name, apiErr := requiredParam(p, "LifecycleHookName")
	if apiErr != nil {
		return nil, apiErr
	}
	if !hookNameRE.MatchString(name) {
		return nil, validationError("1 validation error detected: Value '%s' at 'lifecycleHookName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\-_\\/]+", name)
	}
	h := LifecycleHook{Name: name, HeartbeatTimeout: 3600, DefaultResult: "ABANDON"}
	if old := g.lifecycleHooks[name]; old != nil {
		h = *old // a put updates only what it names
	} else if p.Get("LifecycleTransition") == "" {
		return nil, validationError("A lifecycle transition must be specified when creating a lifecycle hook.")
	}
	if v := p.Get("LifecycleTransition"); v != "" {
		if v != TransitionLaunching && v != TransitionTerminating {
			return nil, validationError("Invalid Lifecycle Transition: %s", v)
		}
		h.Transition = v
	}
	if v := p.Get("DefaultResult"); v != "" {
		if v != "CONTINUE" && v != "ABANDON" {
			return nil, validationError("Valid values for DefaultResult are CONTINUE and ABANDON, got %s", v)
		}
		h.DefaultResult = v
	}
	if v, set, apiErr := qInt(p, "HeartbeatTimeout"); apiErr != nil {
		return nil, apiErr
	} else if set {
		if v < 30 || v > 7200 {
			return nil, validationError("Heartbeat timeout must be between 30 and 7200 seconds, got %d", v)
		}
		h.HeartbeatTimeout = v
	}
	for _, f := range []struct {
		key string
		to  *string
	}{{"NotificationMetadata", &h.NotificationMetadata}, {"NotificationTargetARN", &h.NotificationTargetARN}, {"RoleARN", &h.RoleARN}} {
		if _, ok := p[f.key]; ok {
			*f.to = p.Get(f.key)
		}
	}
	if g.lifecycleHooks == nil {
		g.lifecycleHooks = map[string]*LifecycleHook{}
	}
	if g.lifecycleHooks[name] == nil && len(g.lifecycleHooks) >= 50 {
		return nil, errf("LimitExceeded", 400, "Max number of lifecycle hooks for this group (50) reached")
	}
	g.lifecycleHooks[name] = &h
	return nil, nil
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
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	want := map[string]bool{}
	for _, n := range qList(r.Params, "LifecycleHookNames") {
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

func sortedHooks(g *Group) []*LifecycleHook {
	out := make([]*LifecycleHook, 0, len(g.lifecycleHooks))
	for _, h := range g.lifecycleHooks {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Sim) deleteLifecycleHook(r *request) (any, *APIError) {
	g, apiErr := s.groupParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	name, apiErr := requiredParam(r.Params, "LifecycleHookName")
	if apiErr != nil {
		return nil, apiErr
	}
	if g.lifecycleHooks[name] == nil {
		return nil, validationError("No Lifecycle Hook found with name %s for group %s", name, g.Name)
	}
	delete(g.lifecycleHooks, name)
	// Instances it held go on as if it had been completed (unverified).
	now := s.clock.Now()
	for _, inst := range g.members {
		if _, held := inst.launchWaits[name]; held {
			s.finishLaunchWaitLocked(inst, name, "CONTINUE", now)
		}
	}
	return nil, nil
}

// heldLaunchLocked resolves the instance and hook of a lifecycle action
// call, as AWS words a missing one.
func (s *Sim) heldLaunchLocked(r *request) (*Instance, string, *APIError) {
	p := r.Params
	g, apiErr := s.groupParamLocked(p)
	if apiErr != nil {
		return nil, "", apiErr
	}
	hook, apiErr := requiredParam(p, "LifecycleHookName")
	if apiErr != nil {
		return nil, "", apiErr
	}
	if g.lifecycleHooks[hook] == nil {
		return nil, "", validationError("No Lifecycle Hook found with name %s for group %s", hook, g.Name)
	}
	id := p.Get("InstanceId")
	if id == "" {
		// Tokens come with hook notifications, which the simulator does
		// not send; the instance id is how user data completes a hook.
		return nil, "", validationError("No active Lifecycle Action found with token %s", p.Get("LifecycleActionToken"))
	}
	inst := g.members[id]
	if inst == nil {
		return nil, "", validationError("No active Lifecycle Action found with instance ID %s", id)
	}
	if _, held := inst.launchWaits[hook]; !held {
		return nil, "", validationError("No active Lifecycle Action found with instance ID %s", id)
	}
	return inst, hook, nil
}

func (s *Sim) completeLifecycleAction(r *request) (any, *APIError) {
	result, apiErr := requiredParam(r.Params, "LifecycleActionResult")
	if apiErr != nil {
		return nil, apiErr
	}
	if result != "CONTINUE" && result != "ABANDON" {
		return nil, validationError("Valid values for LifecycleActionResult are CONTINUE and ABANDON, got %s", result)
	}
	inst, hook, apiErr := s.heldLaunchLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	s.finishLaunchWaitLocked(inst, hook, result, s.clock.Now())
	return nil, nil
}

func (s *Sim) recordLifecycleActionHeartbeat(r *request) (any, *APIError) {
	inst, hook, apiErr := s.heldLaunchLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	w := inst.launchWaits[hook]
	h := s.groups[inst.Group].lifecycleHooks[hook]
	w.deadline = minTime(s.clock.Now().Add(time.Duration(h.HeartbeatTimeout)*time.Second), w.global)
	inst.launchWaits[hook] = w
	return nil, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// holdForLaunchHooksLocked puts a new member of g into Pending:Wait when g
// has launch hooks.
func (s *Sim) holdForLaunchHooksLocked(g *Group, inst *Instance, now time.Time) {
	for _, h := range g.lifecycleHooks {
		if h.Transition != TransitionLaunching {
			continue
		}
		if inst.launchWaits == nil {
			inst.launchWaits = map[string]launchWait{}
		}
		inst.launchWaits[h.Name] = launchWait{
			deadline: now.Add(time.Duration(h.HeartbeatTimeout) * time.Second),
			global:   now.Add(time.Duration(h.GlobalTimeout()) * time.Second),
		}
	}
	if len(inst.launchWaits) > 0 {
		inst.Lifecycle = "Pending:Wait"
	}
}

// finishLaunchWaitLocked ends one hook's hold on inst with result.
func (s *Sim) finishLaunchWaitLocked(inst *Instance, hook, result string, now time.Time) {
	delete(inst.launchWaits, hook) // emptied, not nil: still ours to proceed
	if inst.Lifecycle != "Pending:Wait" {
		return
	}
	if result == "ABANDON" {
		inst.launchWaits = nil
		if a := inst.launchActivity; a != nil {
			a.StatusCode, a.Progress, a.EndTime = "Cancelled", 100, now
			a.StatusMessage = "Instance failed to complete user's Lifecycle Action: Lifecycle Action with token was abandoned: Lifecycle Action Completed with ABANDON Result"
			inst.launchActivity = nil
		}
		s.terminateLocked(inst, "Client.UserInitiatedShutdown", fmt.Sprintf("At %s an instance was taken out of service in response to a launch lifecycle action that was abandoned.", asgTime(now)))
		return
	}
	if len(inst.launchWaits) == 0 {
		inst.Lifecycle = "Pending:Proceed"
	}
}

// advanceLaunchHooksLocked applies what is due for instances held by
// launch hooks: their own completion once user data is done, the default
// result at a timeout, InService once proceeding and running.
func (s *Sim) advanceLaunchHooksLocked(now time.Time) {
	for _, g := range s.groups {
		for _, inst := range g.members {
			if inst.launchWaits == nil {
				continue // never held (or a label set by SetLifecycleState)
			}
			switch inst.Lifecycle {
			case "Pending:Wait":
				s.advanceLaunchWaitLocked(g, inst, now)
			case "Pending:Proceed":
				if inst.State == "running" {
					inst.launchWaits = nil
					s.enterServiceLocked(inst, now)
				}
			default:
				inst.launchWaits = nil
			}
		}
	}
}

func (s *Sim) advanceLaunchWaitLocked(g *Group, inst *Instance, now time.Time) {
	if inst.State != "pending" && inst.State != "running" {
		return
	}
	if d := s.opts.UserDataDelay; d >= 0 && inst.State == "running" && !now.Before(inst.runningAt.Add(d)) {
		// The user data's CompleteLifecycleAction, for every launch hook.
		for _, name := range sortedWaits(inst) {
			s.finishLaunchWaitLocked(inst, name, "CONTINUE", now)
		}
		return
	}
	for _, name := range sortedWaits(inst) {
		w := inst.launchWaits[name]
		if now.Before(w.deadline) && now.Before(w.global) {
			continue
		}
		result := "ABANDON"
		if h := g.lifecycleHooks[name]; h != nil {
			result = h.DefaultResult
		}
		s.finishLaunchWaitLocked(inst, name, result, now)
		if inst.Lifecycle != "Pending:Wait" && inst.Lifecycle != "Pending:Proceed" {
			return
		}
	}
}

func sortedWaits(inst *Instance) []string {
	out := make([]string, 0, len(inst.launchWaits))
	for name := range inst.launchWaits {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
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
