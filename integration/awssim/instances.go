package awssim

import (
	"fmt"
	"sort"
	"time"
)

// Instance lifecycle: creation (addresses, spot request, Windows password,
// group membership), EC2 state transitions over simulated time, termination
// and interruption. Group-level decisions live in reconcile.go.

// terminatedRetention is how long terminated instances stay visible in
// DescribeInstances, like AWS (about an hour).
const terminatedRetention = time.Hour

// launchParams describe one instance to create.
type launchParams struct {
	ImageID          string
	InstanceType     string
	AZ               string
	SubnetID         string
	KeyName          string
	Market           Market
	Group            string // "" for RunInstances
	LaunchTemplate   *LaunchTemplateSpec
	Tags             map[string]string
	WeightedCapacity int // group instances; 0 = 1
}

func (s *Sim) instanceARN(id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", s.opts.Region, s.opts.AccountID, id)
}

// nextAddressesLocked hands out unique loopback addresses: private
// 127.1.x.y, public 127.2.x.y (same x.y), so SSH hosts can bind them.
func (s *Sim) nextAddressesLocked() (private, public string) {
	n := s.nextIP % (250 * 256)
	s.nextIP++
	x, y := n/250, n%250+1
	return fmt.Sprintf("127.1.%d.%d", x, y), fmt.Sprintf("127.2.%d.%d", x, y)
}

// newInstanceLocked creates an instance in EC2 state pending (and its spot
// request, addresses, Windows password and group membership) and consumes a
// slot of its capacity pool. The SSH host starts when it becomes running.
func (s *Sim) newInstanceLocked(p launchParams) *Instance {
	now := s.clock.Now()
	id := s.draws.id("i-0", 16)
	for s.instances[id] != nil {
		id = s.draws.id("i-0", 16)
	}
	inst := &Instance{
		ID:           id,
		ImageID:      p.ImageID,
		InstanceType: p.InstanceType,
		KeyName:      p.KeyName,
		Market:       p.Market,
		Tags:         make(map[string]string, len(p.Tags)),
		State:        "pending",
		LaunchTime:   now,
		runningAt:    now.Add(s.opts.BootDelay * 3 / 4),
	}
	if inst.Market == "" {
		inst.Market = OnDemand
	}
	for k, v := range p.Tags {
		inst.Tags[k] = v
	}
	if p.LaunchTemplate != nil {
		lt := *p.LaunchTemplate
		inst.LaunchTemplate = &lt
	}
	if img := s.imageLocked(p.ImageID); img != nil {
		inst.Platform, inst.Architecture = img.Platform, img.Architecture
	} else if it := s.instanceTypes[p.InstanceType]; it != nil {
		inst.Architecture = it.Architecture
	} else {
		inst.Architecture = "x86_64"
	}

	sub := s.subnetByIDLocked(p.SubnetID)
	if sub == nil && p.AZ != "" {
		sub = s.subnetInAZLocked(p.AZ)
	}
	if sub != nil {
		inst.SubnetID, inst.AZ = sub.ID, sub.AZ
	} else {
		inst.AZ = p.AZ
	}
	var public string
	inst.PrivateIP, public = s.nextAddressesLocked()
	if sub != nil && sub.MapPublicIPOnLaunch {
		inst.PublicIP = public
	}

	if inst.Market == Spot {
		sr := &SpotRequest{
			ID: s.draws.id("sir-", 8), InstanceID: id, InstanceType: p.InstanceType, AZ: inst.AZ,
			State: "active", StatusCode: "fulfilled", StatusMessage: "Your spot request is fulfilled.",
			UpdateTime: now, CreateTime: now,
		}
		s.spotRequests[sr.ID] = sr
		inst.SpotRequestID = sr.ID
	}
	if inst.Platform == "windows" {
		inst.Password = s.draws.password()
		inst.passwordAt = now.Add(s.opts.PasswordDelay)
	}
	s.takePoolLocked(PoolKey{inst.InstanceType, inst.AZ, inst.Market})

	if g := s.groups[p.Group]; g != nil {
		inst.Group = g.Name
		inst.Lifecycle = "Pending"
		inst.Health = "Healthy"
		inst.ProtectedFromScaleIn = g.NewInstancesProtectedFromScaleIn
		inst.WeightedCapacity = max(p.WeightedCapacity, 1)
		inst.inServiceAt = now.Add(s.opts.BootDelay)
		g.members[id] = inst
		s.holdForLaunchHooksLocked(g, inst, now)
	}
	s.instances[id] = inst
	s.publishStateChangeLocked(inst)
	return inst
}

// setStateLocked changes the EC2 state, publishes the state-change event and
// keeps the SSH host running exactly while the instance is running.
func (s *Sim) setStateLocked(inst *Instance, state string) {
	if inst.State == state {
		return
	}
	was := inst.State
	inst.State = state
	if state == "running" {
		s.startSSHHostLocked(inst)
	} else if was == "running" {
		s.stopSSHHostLocked(inst)
	}
	s.publishStateChangeLocked(inst)
}

func (s *Sim) publishStateChangeLocked(inst *Instance) {
	s.publishEventLocked("aws.ec2", "EC2 Instance State-change Notification", []string{s.instanceARN(inst.ID)},
		map[string]string{"instance-id": inst.ID, "state": inst.State})
}

// terminateInstanceLocked starts terminating inst: EC2 shutting-down, ASG
// Terminating; reason is the EC2 StateReason code. Used for terminations
// from outside the group (EC2 TerminateInstances): the group records it as
// a health-check replacement, as AWS does.
func (s *Sim) terminateInstanceLocked(inst *Instance, reason string) {
	now := s.clock.Now()
	s.terminateLocked(inst, reason, fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.", asgTime(now)))
}

// terminateLocked terminates inst and, for a group member, records the
// terminate activity with the given cause. It returns that activity (the
// existing one when the instance is already terminating).
func (s *Sim) terminateLocked(inst *Instance, reason, cause string) *Activity {
	if inst.State == "shutting-down" || inst.State == "terminated" {
		return inst.termActivity
	}
	s.shutDownLocked(inst, reason)
	if g := s.groups[inst.Group]; g != nil && g.members[inst.ID] != nil {
		inst.Lifecycle = "Terminating"
		act := s.addActivityLocked(g, "Terminating EC2 instance: "+inst.ID, cause, inst)
		act.StatusCode, act.Progress = "InProgress", 0
		inst.termActivity = act
	}
	return inst.termActivity
}

// shutDownLocked starts the EC2 side of a termination: shutting-down, the
// spot request closed; reason is the EC2 StateReason code.
func (s *Sim) shutDownLocked(inst *Instance, reason string) {
	now := s.clock.Now()
	inst.hookWaits = nil
	inst.StateReason = reason
	inst.terminateAt = now.Add(s.opts.TerminateDelay)
	inst.interruptAt = time.Time{}
	s.setStateLocked(inst, "shutting-down")
	if sr := s.spotRequests[inst.SpotRequestID]; sr != nil && sr.State != "closed" {
		sr.State, sr.UpdateTime = "closed", now
		if reason == "Server.SpotInstanceTermination" {
			sr.StatusCode, sr.StatusMessage = "instance-terminated-no-capacity", "Spot Instance terminated due to no available capacity."
		} else {
			sr.StatusCode, sr.StatusMessage = "instance-terminated-by-user", "Spot Instance terminated due to user-initiated termination."
		}
	}
	if reason == "Server.SpotInstanceTermination" || reason == "Server.SpotInstanceShutdown" {
		inst.poolReturned = true // reclaimed capacity is not given back
	}
}

// advanceInstancesLocked applies every instance timer due by now.
func (s *Sim) advanceInstancesLocked(now time.Time) {
	for id, inst := range s.instances {
		switch inst.State {
		case "pending":
			if !now.Before(inst.runningAt) {
				s.setStateLocked(inst, "running")
			}
		case "shutting-down":
			if !now.Before(inst.terminateAt) {
				s.finishTerminationLocked(inst, now)
			}
			continue
		case "stopping":
			if !now.Before(inst.terminateAt) {
				s.setStateLocked(inst, "stopped")
				if g := s.groups[inst.Group]; g != nil && g.members[inst.ID] != nil {
					// The group's EC2 health check replaces stopped instances.
					inst.Health = "Unhealthy"
					s.terminateLocked(inst, inst.StateReason, fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.", asgTime(now)))
				}
			}
			continue
		case "terminated":
			if now.Sub(inst.terminatedAt) >= terminatedRetention {
				delete(s.instances, id)
				delete(s.spotRequests, inst.SpotRequestID)
			}
			continue
		}
		if !inst.interruptAt.IsZero() && !now.Before(inst.interruptAt) && (inst.State == "running" || inst.State == "pending") {
			s.interruptNowLocked(inst, now)
			continue
		}
		if inst.Lifecycle == "Pending" && inst.State == "running" && !now.Before(inst.inServiceAt) {
			s.enterServiceLocked(inst, now)
		}
		if inst.Lifecycle == "Detaching" && !now.Before(inst.detachAt) {
			if g := s.groups[inst.Group]; g != nil {
				delete(g.members, inst.ID)
			}
			inst.Lifecycle = "Detached"
			if a := inst.termActivity; a != nil {
				finishActivity(a, now)
			}
		}
	}
}

func (s *Sim) enterServiceLocked(inst *Instance, now time.Time) {
	inst.Lifecycle = "InService"
	g := s.groups[inst.Group]
	if g == nil {
		return
	}
	if a := inst.launchActivity; a != nil {
		finishActivity(a, now)
		s.publishASGEventLocked(g, inst, a, "EC2 Instance Launch Successful")
	}
}

func (s *Sim) finishTerminationLocked(inst *Instance, now time.Time) {
	s.setStateLocked(inst, "terminated")
	inst.terminatedAt = now
	if !inst.poolReturned {
		inst.poolReturned = true
		s.returnPoolLocked(PoolKey{inst.InstanceType, inst.AZ, inst.Market})
	}
	if g := s.groups[inst.Group]; g != nil && g.members[inst.ID] != nil {
		delete(g.members, inst.ID)
		inst.Lifecycle = "Terminated"
		if a := inst.termActivity; a != nil {
			finishActivity(a, now)
			s.publishASGEventLocked(g, inst, a, "EC2 Instance Terminate Successful")
		}
	}
}

// interruptNowLocked is AWS reclaiming the instance at the end of the notice.
func (s *Sim) interruptNowLocked(inst *Instance, now time.Time) {
	inst.interruptAt = time.Time{}
	if inst.InterruptionAction == "terminate" {
		s.terminateLocked(inst, "Server.SpotInstanceTermination", fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.", asgTime(now)))
		return
	}
	// stop / hibernate
	inst.StateReason = "Server.SpotInstanceShutdown"
	inst.terminateAt = now.Add(s.opts.TerminateDelay)
	inst.poolReturned = true
	s.setStateLocked(inst, "stopping")
	if sr := s.spotRequests[inst.SpotRequestID]; sr != nil {
		sr.State, sr.StatusCode, sr.StatusMessage, sr.UpdateTime = "disabled", "instance-stopped-no-capacity", "Spot Instance stopped due to no available capacity.", now
	}
}

// Interrupt gives a spot instance AWS's interruption notice: its spot
// request becomes marked-for-termination (or marked-for-stop for stop and
// hibernate), the "EC2 Spot Instance Interruption Warning" event is
// published, and after Options.NoticePeriod (immediately for hibernate) the
// instance is terminated (StateReason Server.SpotInstanceTermination, spot
// status instance-terminated-no-capacity) or stopped. action "" = terminate.
func (s *Sim) Interrupt(instanceID, action string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		action = "terminate"
	}
	if action != "terminate" && action != "stop" && action != "hibernate" {
		return fmt.Errorf("awssim: interruption action %q is not terminate, stop or hibernate", action)
	}
	inst, err := s.liveSpotLocked(instanceID)
	if err != nil {
		return err
	}
	if !inst.interruptAt.IsZero() {
		return nil // already noticed
	}
	now := s.clock.Now()
	inst.InterruptionAction = action
	inst.interruptAt = now.Add(s.opts.NoticePeriod)
	if action == "hibernate" {
		inst.interruptAt = now
	}
	if sr := s.spotRequests[inst.SpotRequestID]; sr != nil {
		sr.UpdateTime = now
		if action == "terminate" {
			sr.StatusCode, sr.StatusMessage = "marked-for-termination", "Spot Instance is marked for termination because of no available capacity."
		} else {
			sr.StatusCode, sr.StatusMessage = "marked-for-stop", "Spot Instance is marked for stop because of no available capacity."
		}
	}
	s.publishEventLocked("aws.ec2", "EC2 Spot Instance Interruption Warning", []string{s.instanceARN(inst.ID)},
		map[string]string{"instance-id": inst.ID, "instance-action": action})
	return nil
}

// liveSpotLocked is the spot instance AWS could still warn about: one that
// exists and is pending or running.
func (s *Sim) liveSpotLocked(id string) (*Instance, error) {
	inst := s.instances[id]
	switch {
	case inst == nil:
		return nil, fmt.Errorf("awssim: no instance %s", id)
	case inst.Market != Spot:
		return nil, fmt.Errorf("awssim: instance %s is not a spot instance", id)
	case inst.State != "pending" && inst.State != "running":
		return nil, fmt.Errorf("awssim: instance %s is %s", id, inst.State)
	}
	return inst, nil
}

// RecommendRebalance publishes an "EC2 Instance Rebalance Recommendation"
// for a spot instance. A group with CapacityRebalance launches a
// replacement and terminates the instance once the replacement is
// InService (scale-in protection does not stop it).
func (s *Sim) RecommendRebalance(instanceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, err := s.liveSpotLocked(instanceID)
	if err != nil {
		return err
	}
	inst.RebalanceRecommended = true
	s.publishEventLocked("aws.ec2", "EC2 Instance Rebalance Recommendation", []string{s.instanceARN(inst.ID)},
		map[string]string{"instance-id": inst.ID})
	return nil
}

// TerminateExternally terminates an instance as EC2 TerminateInstances
// would (someone outside the group); the group notices and replaces it.
func (s *Sim) TerminateExternally(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil {
		return fmt.Errorf("awssim: no instance %s", id)
	}
	s.terminateInstanceLocked(inst, "Client.UserInitiatedShutdown")
	return nil
}

// DetachExternally detaches an instance from its group as an operator's
// DetachInstances without decrement would: Detaching, then Detached and out
// of the group (still running); the group launches a replacement.
func (s *Sim) DetachExternally(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil {
		return fmt.Errorf("awssim: no instance %s", id)
	}
	g := s.groups[inst.Group]
	if g == nil || g.members[id] == nil || isLeaving(inst.Lifecycle) {
		return fmt.Errorf("awssim: instance %s is not managed by a group", id)
	}
	s.detachLocked(inst, fmt.Sprintf("At %s instance %s was detached in response to a user request.", asgTime(s.clock.Now()), id))
	return nil
}

// detachLocked starts detaching a group member: Detaching now, Detached and
// out of the group shortly after; the instance keeps running.
func (s *Sim) detachLocked(inst *Instance, cause string) *Activity {
	g := s.groups[inst.Group]
	inst.Lifecycle = "Detaching"
	inst.detachAt = s.clock.Now().Add(5 * time.Second)
	act := s.addActivityLocked(g, "Detaching EC2 instance: "+inst.ID, cause, inst)
	act.StatusCode = "InProgress"
	inst.termActivity = act
	return act
}

// lifecycleStates is the full Auto Scaling LifecycleState enum.
var lifecycleStates = map[string]bool{
	"Pending": true, "Pending:Wait": true, "Pending:Proceed": true, "Quarantined": true, "InService": true,
	"Terminating": true, "Terminating:Wait": true, "Terminating:Proceed": true, "Terminating:Retained": true,
	"Terminated": true, "Detaching": true, "Detached": true, "EnteringStandby": true, "Standby": true,
	"Warmed:Pending": true, "Warmed:Pending:Wait": true, "Warmed:Pending:Proceed": true, "Warmed:Pending:Retained": true,
	"Warmed:Terminating": true, "Warmed:Terminating:Wait": true, "Warmed:Terminating:Proceed": true,
	"Warmed:Terminated": true, "Warmed:Stopped": true, "Warmed:Running": true, "Warmed:Hibernated": true,
	"Warmed:Terminating:Retained": true, "ReplacingRootVolume": true, "ReplacingRootVolume:Wait": true,
	"ReplacingRootVolume:Proceed": true, "RootVolumeReplaced": true,
}

// SetLifecycleState overrides an instance's Auto Scaling LifecycleState
// (any value of the enum), for tests of state mapping. Only the label
// changes; EC2 timers go on, and the group counts the instance by it.
func (s *Sim) SetLifecycleState(id, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !lifecycleStates[state] {
		return fmt.Errorf("awssim: %q is not an Auto Scaling lifecycle state", state)
	}
	inst := s.instances[id]
	if inst == nil || inst.Group == "" {
		return fmt.Errorf("awssim: no group instance %s", id)
	}
	inst.Lifecycle = state
	return nil
}

// SetHealth sets an instance's HealthStatus (Healthy or Unhealthy). An
// Unhealthy InService instance is replaced by its group unless
// ReplaceUnhealthy is suspended.
func (s *Sim) SetHealth(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status != "Healthy" && status != "Unhealthy" {
		return fmt.Errorf("awssim: health %q is not Healthy or Unhealthy", status)
	}
	inst := s.instances[id]
	if inst == nil || inst.Group == "" {
		return fmt.Errorf("awssim: no group instance %s", id)
	}
	inst.Health = status
	return nil
}

// copyInstance is a snapshot safe to hand out of the lock.
func copyInstance(inst *Instance) Instance {
	c := *inst
	c.Tags = make(map[string]string, len(inst.Tags))
	for k, v := range inst.Tags {
		c.Tags[k] = v
	}
	if inst.LaunchTemplate != nil {
		lt := *inst.LaunchTemplate
		c.LaunchTemplate = &lt
	}
	c.launchActivity, c.termActivity, c.hookWaits = nil, nil, nil
	return c
}

// Instances returns copies of all instances still visible in EC2 (including
// recently terminated ones), sorted by launch time then id.
func (s *Sim) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.instances))
	for _, inst := range s.instances {
		out = append(out, copyInstance(inst))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LaunchTime.Equal(out[j].LaunchTime) {
			return out[i].LaunchTime.Before(out[j].LaunchTime)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Instance returns a copy of one instance.
func (s *Sim) Instance(id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	if inst == nil {
		return Instance{}, false
	}
	return copyInstance(inst), true
}
