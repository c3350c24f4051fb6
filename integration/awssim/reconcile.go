package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The simulator's life (Start/Close and the background loop) and what a
// group does over time: launch and terminate towards desired capacity
// following its MixedInstancesPolicy, retry failed launches with backoff,
// and the rebalancing behaviours (CapacityRebalance, AZRebalance,
// ReplaceUnhealthy) that terminate instances on their own.

// tickInterval is how often (real time) the world advances without calls.
const tickInterval = 10 * time.Millisecond

// Launch backoff after a failed launch, simulated time.
const (
	minLaunchBackoff = 10 * time.Second
	maxLaunchBackoff = 5 * time.Minute
)

// maxActivitiesPerGroup bounds memory on long runs with failing launches.
const maxActivitiesPerGroup = 2000

// Start creates a simulator and serves it on Options.Addr (default
// 127.0.0.1:0, a free port).
//
//nolint:contextcheck // the simulator outlives its caller's context; Close ends it
func Start(opts Options) (*Sim, error) {
	opts = opts.withDefaults()
	s := &Sim{
		opts:    opts,
		clock:   newClock(opts.Speed),
		routes:  apiRoutes(),
		control: controlRouteTable(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		draws:   newDraws(opts.Seed),
	}
	s.faults.init()
	s.faults.draws = s.draws
	s.initWorldLocked()
	if opts.Throttle {
		for svc, c := range defaultThrottles {
			s.faults.throttle[svc] = c
		}
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("awssim: listen %s: %w", addr, err)
	}
	s.listener = ln
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(ln) }()
	go s.loop()
	return s, nil
}

// URL is the endpoint for every service (AWS_ENDPOINT_URL), e.g.
// http://127.0.0.1:40123.
func (s *Sim) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the background loop, the HTTP server and every SSH host.
func (s *Sim) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		err = s.server.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, inst := range s.instances {
			if inst.State == "running" {
				s.stopSSHHostLocked(inst)
			}
		}
	})
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Now is the current simulated time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// SetSpeed sets simulated seconds per real second, without a time jump.
func (s *Sim) SetSpeed(speed float64) { s.clock.SetSpeed(speed) }

// Advance jumps simulated time forward by d and applies everything due.
// It moves in steps (at least 1 s, at most 1000 of them) so that chained
// timers (notice → termination → replacement → boot) fire close to when
// they are due rather than all at the end of the jump.
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	step := max(time.Second, d/1000)
	for d > 0 {
		st := min(step, d)
		s.clock.Advance(st)
		s.advanceLocked()
		d -= st
	}
}

func (s *Sim) loop() {
	defer close(s.done)
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.advanceLocked()
			s.mu.Unlock()
		}
	}
}

// advanceLocked moves the world to the current simulated time.
func (s *Sim) advanceLocked() {
	now := s.clock.Now()
	s.advanceInstancesLocked(now)
	s.advanceHooksLocked(now)
	for _, g := range s.groups {
		s.reconcileGroupLocked(g, now)
	}
}

func asgTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// isLeaving reports lifecycle states of instances on their way out of the
// group (terminating, detaching, warm pool).
func isLeaving(lifecycle string) bool {
	return strings.HasPrefix(lifecycle, "Terminat") || strings.HasPrefix(lifecycle, "Detach") || strings.HasPrefix(lifecycle, "Warmed:")
}

// counts reports whether an instance in this state counts toward desired
// capacity: not when leaving, nor in standby (the group replaces those
// unless desired was decremented).
func counts(lifecycle string) bool {
	return !isLeaving(lifecycle) && lifecycle != "Standby" && lifecycle != "EnteringStandby"
}

func (g *Group) suspended(process string) bool {
	_, ok := g.SuspendedProcesses[process]
	return ok
}

// groupStats is the group's counted capacity: instances that are not
// leaving, not at risk of a rebalance being replaced, not a pending
// AZRebalance launch.
type groupStats struct {
	units, odUnits, spotUnits int
	inServiceUnits            int
	perAZ                     map[string]int
	perPool                   map[PoolKey]int
	counted                   []*Instance
	atRisk                    []*Instance
	rebalancing               bool // an AZRebalance launch is still pending
}

func (s *Sim) groupStatsLocked(g *Group) *groupStats {
	st := &groupStats{perAZ: map[string]int{}, perPool: map[PoolKey]int{}, counted: make([]*Instance, 0, len(g.members))}
	for _, inst := range g.members {
		if !counts(inst.Lifecycle) {
			continue
		}
		if g.CapacityRebalance && inst.RebalanceRecommended {
			st.atRisk = append(st.atRisk, inst)
			continue
		}
		if inst.azRebalanceFrom != "" {
			st.rebalancing = true
			continue
		}
		st.add(inst)
	}
	return st
}

func (st *groupStats) add(inst *Instance) {
	w := max(inst.WeightedCapacity, 1)
	st.units += w
	if inst.Market == Spot {
		st.spotUnits += w
	} else {
		st.odUnits += w
	}
	if inst.Lifecycle == "InService" {
		st.inServiceUnits += w
	}
	st.perAZ[inst.AZ]++
	st.perPool[PoolKey{inst.InstanceType, inst.AZ, inst.Market}]++
	st.counted = append(st.counted, inst)
}

// sortInstances orders oldest first, the deterministic tie-break for
// victims.
func sortInstances(l []*Instance) {
	sort.Slice(l, func(i, j int) bool {
		if !l[i].LaunchTime.Equal(l[j].LaunchTime) {
			return l[i].LaunchTime.Before(l[j].LaunchTime)
		}
		return l[i].ID < l[j].ID
	})
}

func (s *Sim) reconcileGroupLocked(g *Group, now time.Time) {
	if g.Status != "" { // forced delete draining
		if len(g.members) == 0 {
			delete(s.groups, g.Name)
		}
		return
	}
	s.replaceUnhealthyLocked(g, now)
	s.finishAZRebalanceLocked(g, now)

	st := s.groupStatsLocked(g)
	if len(st.atRisk) > 0 && st.inServiceUnits >= g.Desired {
		// CapacityRebalance: replacements are in service, retire the at-risk ones.
		for _, inst := range st.atRisk {
			s.asgTerminateLocked(inst, fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 instance rebalance recommendation.", asgTime(now)))
		}
	}

	switch {
	case st.units < g.Desired:
		if !g.suspended("Launch") && !now.Before(g.nextLaunchAttempt) {
			s.scaleOutLocked(g, st, now)
		}
	case st.units > g.Desired:
		if !g.suspended("Terminate") {
			s.scaleInLocked(g, st, now)
		}
	default:
		if !st.rebalancing && len(st.atRisk) == 0 {
			s.startAZRebalanceLocked(g, st, now)
		}
	}
}

func (s *Sim) replaceUnhealthyLocked(g *Group, now time.Time) {
	if g.suspended("ReplaceUnhealthy") {
		return
	}
	for _, inst := range g.members {
		if inst.Health == "Unhealthy" && inst.Lifecycle == "InService" {
			s.asgTerminateLocked(inst, fmt.Sprintf("At %s an instance was taken out of service in response to a user health-check.", asgTime(now)))
		}
	}
}

// scaleOutLocked launches until desired is met or no pool can serve; a
// failure records a Failed activity and backs off exponentially.
func (s *Sim) scaleOutLocked(g *Group, st *groupStats, now time.Time) {
	cause := fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", asgTime(now), st.units, g.Desired)
	for st.units < g.Desired {
		c, fail := s.choosePoolLocked(g, st, "", g.Desired)
		if fail != nil {
			s.launchFailedLocked(g, fail, cause, now)
			return
		}
		st.add(s.launchGroupInstanceLocked(g, c, cause))
	}
	g.launchFailures = 0
	g.nextLaunchAttempt = time.Time{}
}

func (s *Sim) launchFailedLocked(g *Group, fail *launchFailure, cause string, now time.Time) {
	a := s.addActivityLocked(g, "Launching a new EC2 instance. Status Reason: "+fail.Message+" Launching EC2 instance failed.", cause, nil)
	a.Details = activityDetails(fail.SubnetID, fail.AZ)
	// The attempt's own instant, which the backoff below counts from (a
	// fresh clock reading, later on a loaded machine, made the retry look
	// early and the activity end before it started).
	a.StartTime = now
	a.StatusCode, a.StatusMessage, a.Progress, a.EndTime = "Failed", fail.Message, 100, now
	s.publishASGEventLocked(g, nil, a, "EC2 Instance Launch Unsuccessful")
	g.launchFailures++
	backoff := maxLaunchBackoff
	if g.launchFailures < 10 {
		backoff = min(minLaunchBackoff<<(g.launchFailures-1), maxLaunchBackoff)
	}
	g.nextLaunchAttempt = now.Add(backoff)
}

// scaleInLocked terminates unprotected instances down to desired, choosing
// like the default termination policy: the market above its target share
// first, then the AZ with the most instances, then the oldest.
func (s *Sim) scaleInLocked(g *Group, st *groupStats, now time.Time) {
	cause := fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", asgTime(now), st.units, g.Desired)
	odTarget := g.Desired
	if g.Mixed != nil {
		d := g.Mixed.Distribution
		odTarget = onDemandTarget(g.Desired, d.OnDemandBaseCapacity, d.OnDemandPercentageAboveBaseCapacity)
	}
	sortInstances(st.counted) // only here: sorting every tick would cost O(n log n)
	units, odUnits := st.units, st.odUnits
	perAZ := st.perAZ
	alive := make(map[*Instance]bool, len(st.counted))
	for _, inst := range st.counted {
		alive[inst] = true
	}
	for units > g.Desired {
		preferOD := odUnits > odTarget
		var victim *Instance
		better := func(a, b *Instance) bool { // is a a better victim than b
			if (a.Market == OnDemand) != (b.Market == OnDemand) {
				return (a.Market == OnDemand) == preferOD
			}
			if perAZ[a.AZ] != perAZ[b.AZ] {
				return perAZ[a.AZ] > perAZ[b.AZ]
			}
			return false // counted is oldest first: keep the first found
		}
		for _, inst := range st.counted {
			if !alive[inst] || inst.ProtectedFromScaleIn {
				continue
			}
			if victim == nil || better(inst, victim) {
				victim = inst
			}
		}
		if victim == nil {
			if g.protectedNoticeFor != g.Desired {
				g.protectedNoticeFor = g.Desired
				msg := "Could not scale to desired capacity because all remaining instances are protected from scale in."
				a := s.addActivityLocked(g, "Terminating EC2 instance", cause, nil)
				a.StatusCode, a.StatusMessage, a.Progress, a.EndTime = "Cancelled", msg, 100, now
				a.Description = msg
			}
			return
		}
		w := max(victim.WeightedCapacity, 1)
		if units-w < g.Desired {
			break // weighted: never go below desired
		}
		alive[victim] = false
		units -= w
		if victim.Market == OnDemand {
			odUnits -= w
		}
		perAZ[victim.AZ]--
		s.asgTerminateLocked(victim, cause)
	}
	g.protectedNoticeFor = -1
}

// startAZRebalanceLocked launches one instance in the thinnest AZ when the
// group's AZs differ by more than one; finishAZRebalanceLocked then
// terminates one in the thickest. Scale-in protection is not honoured here
// (unverified against AWS; it makes the hazard visible).
func (s *Sim) startAZRebalanceLocked(g *Group, st *groupStats, now time.Time) {
	if g.suspended("AZRebalance") || g.suspended("Launch") || g.suspended("Terminate") || len(g.AvailabilityZones) < 2 {
		return
	}
	if st.inServiceUnits != st.units || now.Before(g.nextLaunchAttempt) {
		return // only a settled group rebalances
	}
	thin, thick := g.AvailabilityZones[0], g.AvailabilityZones[0]
	for _, az := range g.AvailabilityZones {
		if st.perAZ[az] < st.perAZ[thin] {
			thin = az
		}
		if st.perAZ[az] > st.perAZ[thick] {
			thick = az
		}
	}
	if st.perAZ[thick]-st.perAZ[thin] <= 1 {
		return
	}
	c, fail := s.choosePoolLocked(g, st, thin, g.Desired)
	if fail != nil {
		return // AWS retries later; nothing to record for the sim
	}
	cause := fmt.Sprintf("At %s instances were launched to balance instances in zones %s with other zones %s.", asgTime(now), thin, thick)
	inst := s.launchGroupInstanceLocked(g, c, cause)
	inst.azRebalanceFrom = thick
}

func (s *Sim) finishAZRebalanceLocked(g *Group, now time.Time) {
	for _, inst := range g.members {
		if inst.azRebalanceFrom == "" {
			continue
		}
		if isLeaving(inst.Lifecycle) {
			inst.azRebalanceFrom = ""
			continue
		}
		if inst.Lifecycle != "InService" {
			continue
		}
		from := inst.azRebalanceFrom
		inst.azRebalanceFrom = ""
		var victim *Instance
		for _, v := range g.members {
			if v == inst || v.AZ != from || !counts(v.Lifecycle) || v.azRebalanceFrom != "" {
				continue
			}
			if victim == nil || (victim.ProtectedFromScaleIn && !v.ProtectedFromScaleIn) ||
				(victim.ProtectedFromScaleIn == v.ProtectedFromScaleIn && v.LaunchTime.Before(victim.LaunchTime)) {
				victim = v
			}
		}
		if victim != nil {
			s.asgTerminateLocked(victim, fmt.Sprintf("At %s an instance was taken out of service in response to a rebalancing activity across Availability Zones.", asgTime(now)))
		}
	}
}

// onDemandTarget is how many of desired units are on-demand: the base
// first, then the percentage of the rest, rounded up in favour of
// on-demand (deterministic; AWS documents no rounding rule).
func onDemandTarget(desired, base, pct int) int {
	if desired <= base {
		return desired
	}
	above := desired - base
	return base + (above*pct+99)/100
}

// launchChoice is one pool picked for a launch.
type launchChoice struct {
	InstanceType string
	AZ           string
	SubnetID     string
	Market       Market
	Weight       int
	ImageID      string
	KeyName      string
	LT           LaunchTemplateSpec
}

// launchFailure is why nothing could be launched, in AWS's words.
type launchFailure struct {
	Code         string // EC2 error code (LaunchInstances Errors[])
	Message      string
	InstanceType string
	AZ           string
	SubnetID     string
	Market       Market
}

type candidate struct {
	typ     string
	weight  int
	imageID string
	order   int
}

// choosePoolLocked picks type × AZ × market for the next launch of g,
// aiming at desired: market by the on-demand base/percentage, AZ by
// balance, pool by the allocation strategy. onlyAZ restricts the AZ.
func (s *Sim) choosePoolLocked(g *Group, st *groupStats, onlyAZ string, desired int) (*launchChoice, *launchFailure) {
	spec := LaunchTemplateSpec{}
	if g.Mixed != nil {
		spec = g.Mixed.LaunchTemplate
	} else if g.LaunchTemplate != nil {
		spec = *g.LaunchTemplate
	}
	lt, data, apiErr := s.resolveLaunchTemplateLocked(spec)
	if apiErr != nil {
		return nil, &launchFailure{Code: apiErr.Code, Message: apiErr.Message}
	}

	market := OnDemand
	var dist Distribution
	var cands []candidate
	if g.Mixed != nil {
		dist = g.Mixed.Distribution
		if st.odUnits >= onDemandTarget(desired, dist.OnDemandBaseCapacity, dist.OnDemandPercentageAboveBaseCapacity) {
			market = Spot
		}
		for i, o := range g.Mixed.Overrides {
			img := data.ImageID
			if o.LaunchTemplate != nil {
				if _, od, err := s.resolveLaunchTemplateLocked(*o.LaunchTemplate); err == nil {
					img = od.ImageID
				}
			}
			if o.ImageID != "" {
				img = o.ImageID
			}
			cands = append(cands, candidate{o.InstanceType, max(o.WeightedCapacity, 1), img, i})
		}
	}
	if len(cands) == 0 {
		typ := data.InstanceType
		if typ == "" {
			return nil, &launchFailure{Code: "MissingParameter", Message: "The request must contain the parameter InstanceType."}
		}
		cands = []candidate{{typ, 1, data.ImageID, 0}}
	}

	// Drop overrides the image cannot run on, as EC2 would reject them.
	usable := cands[:0:0]
	var firstErr *launchFailure
	for _, c := range cands {
		img := s.imageLocked(c.imageID)
		it := s.instanceTypes[c.typ]
		switch {
		case img == nil:
			firstErr = cmpOr(firstErr, &launchFailure{Code: "InvalidAMIID.NotFound", Message: fmt.Sprintf("The image id '[%s]' does not exist", c.imageID)})
		case it == nil:
			firstErr = cmpOr(firstErr, &launchFailure{Code: "InvalidParameterValue", Message: fmt.Sprintf("The instance type '%s' does not exist.", c.typ)})
		case it.Architecture != img.Architecture:
			firstErr = cmpOr(firstErr, &launchFailure{Code: "InvalidParameterValue", Message: fmt.Sprintf("The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.", it.Architecture, img.Architecture)})
		default:
			usable = append(usable, c)
		}
	}
	if len(usable) == 0 {
		return nil, firstErr
	}

	azs := make([]string, 0, len(g.AvailabilityZones))
	for _, az := range g.AvailabilityZones {
		if onlyAZ == "" || az == onlyAZ {
			azs = append(azs, az)
		}
	}
	if len(azs) == 0 {
		return nil, &launchFailure{Code: "InvalidParameterValue", Message: fmt.Sprintf("The Availability Zone %s is not enabled for the group.", onlyAZ), AZ: onlyAZ}
	}
	sort.SliceStable(azs, func(i, j int) bool { return st.perAZ[azs[i]] < st.perAZ[azs[j]] })

	platform := ""
	if img := s.imageLocked(usable[0].imageID); img != nil {
		platform = img.Platform
	}
	for _, az := range azs {
		c := s.pickInAZLocked(st, usable, az, market, dist, platform)
		if c == nil {
			continue
		}
		ch := &launchChoice{InstanceType: c.typ, AZ: az, SubnetID: s.groupSubnetLocked(g, az), Market: market,
			Weight: c.weight, ImageID: c.imageID, KeyName: data.KeyName,
			LT: LaunchTemplateSpec{ID: lt.ID, Name: lt.Name, Version: cmpOr(spec.Version, "$Default")}}
		return ch, nil
	}

	fail := &launchFailure{Code: "InsufficientInstanceCapacity", InstanceType: usable[0].typ, AZ: azs[0], SubnetID: s.groupSubnetLocked(g, azs[0]), Market: market}
	if market == Spot {
		fail.Message = "There is no Spot capacity available that matches your request."
		return nil, fail
	}
	fail.Message = fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity.", fail.InstanceType, fail.AZ)
	var others []string
	for _, z := range s.zones {
		if z.Name != fail.AZ && s.poolCapacityLocked(PoolKey{fail.InstanceType, z.Name, OnDemand}) != 0 {
			others = append(others, z.Name)
		}
	}
	if len(others) > 0 {
		fail.Message += fmt.Sprintf(" You can currently get %s capacity by not specifying an Availability Zone in your request or choosing %s.", fail.InstanceType, strings.Join(others, ", "))
	}
	return nil, fail
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// pickInAZLocked applies the allocation strategy to the pools of one AZ
// that have capacity (and, for spot, a price under the max price).
func (s *Sim) pickInAZLocked(st *groupStats, cands []candidate, az string, market Market, dist Distribution, platform string) *candidate {
	type pool struct {
		c     candidate
		depth int // remaining capacity; unlimited = MaxInt32
		price float64
	}
	pools := make([]pool, 0, len(cands))
	for _, c := range cands {
		capacity := s.poolCapacityLocked(PoolKey{c.typ, az, market})
		if capacity == 0 {
			continue
		}
		if capacity < 0 {
			capacity = math.MaxInt32
		}
		p := pool{c: c, depth: capacity}
		if market == Spot {
			p.price = s.spotPriceLocked(c.typ, az)
			maxPrice := s.onDemandPriceLocked(c.typ, platform)
			if v, err := strconv.ParseFloat(dist.SpotMaxPrice, 64); err == nil && v > 0 {
				maxPrice = v
			}
			if p.price > maxPrice {
				continue // price-too-low
			}
		} else {
			p.price = s.onDemandPriceLocked(c.typ, platform)
		}
		pools = append(pools, p)
	}
	if len(pools) == 0 {
		return nil
	}
	byPrice := func(i, j int) bool {
		if pools[i].price != pools[j].price {
			return pools[i].price < pools[j].price
		}
		return pools[i].c.order < pools[j].c.order
	}
	deepest := 0
	for _, p := range pools {
		deepest = max(deepest, p.depth)
	}
	deep := func() []pool { // pools at least half as deep as the deepest
		out := pools[:0:0]
		for _, p := range pools {
			if p.depth >= deepest/2 {
				out = append(out, p)
			}
		}
		return out
	}
	if market == OnDemand {
		if dist.OnDemandAllocationStrategy == "lowest-price" {
			sort.SliceStable(pools, byPrice)
		}
		return &pools[0].c
	}
	switch dist.SpotAllocationStrategy {
	case "capacity-optimized":
		best := pools[0]
		for _, p := range pools[1:] {
			if p.depth > best.depth {
				best = p
			}
		}
		return &best.c
	case "capacity-optimized-prioritized":
		d := deep()
		return &d[0].c
	case "price-capacity-optimized":
		pools = deep()
		sort.SliceStable(pools, byPrice)
		return &pools[0].c
	default: // lowest-price across the N cheapest pools, spreading over them
		sort.SliceStable(pools, byPrice)
		n := dist.SpotInstancePools
		if n <= 0 {
			n = 2
		}
		pools = pools[:min(n, len(pools))]
		best := pools[0]
		for _, p := range pools[1:] {
			if st.perPool[PoolKey{p.c.typ, az, Spot}] < st.perPool[PoolKey{best.c.typ, az, Spot}] {
				best = p
			}
		}
		return &best.c
	}
}

// groupSubnetLocked is the group's subnet in az (VPCZoneIdentifier), else
// the default subnet of az.
func (s *Sim) groupSubnetLocked(g *Group, az string) string {
	for _, id := range g.SubnetIDs {
		if sub := s.subnetByIDLocked(id); sub != nil && sub.AZ == az {
			return sub.ID
		}
	}
	if sub := s.subnetInAZLocked(az); sub != nil {
		return sub.ID
	}
	return ""
}

// launchGroupInstanceLocked launches one instance for g with its tags and
// an in-progress launch activity.
func (s *Sim) launchGroupInstanceLocked(g *Group, c *launchChoice, cause string) *Instance {
	tags := map[string]string{"aws:autoscaling:groupName": g.Name, "aws:ec2launchtemplate:id": c.LT.ID}
	for k, v := range g.Tags {
		if g.PropagateAtLaunch[k] {
			tags[k] = v
		}
	}
	lt := c.LT
	inst := s.newInstanceLocked(launchParams{
		ImageID: c.ImageID, InstanceType: c.InstanceType, AZ: c.AZ, SubnetID: c.SubnetID, KeyName: c.KeyName,
		Market: c.Market, Group: g.Name, LaunchTemplate: &lt, Tags: tags, WeightedCapacity: c.Weight,
	})
	if d := s.launchTemplates[lt.ID]; d != nil {
		if v, err := d.version(lt.Version); err == nil {
			inst.Tags["aws:ec2launchtemplate:version"] = strconv.Itoa(v.Version)
		}
	}
	a := s.addActivityLocked(g, "Launching a new EC2 instance: "+inst.ID, cause, inst)
	a.StatusCode, a.Progress = "InProgress", 20
	inst.launchActivity = a
	return inst
}

func activityDetails(subnetID, az string) string {
	b, _ := json.Marshal(map[string]string{"Subnet ID": subnetID, "Availability Zone": az})
	return string(b)
}

// addActivityLocked records a new activity (Successful unless the caller
// changes it) for g.
func (s *Sim) addActivityLocked(g *Group, description, cause string, inst *Instance) *Activity {
	a := &Activity{
		ID:          s.newRequestID(),
		GroupName:   g.Name,
		GroupARN:    g.ARN,
		Description: description,
		Cause:       cause,
		StatusCode:  "Successful",
		Progress:    100,
		StartTime:   s.clock.Now(),
	}
	if inst != nil {
		a.Details = activityDetails(inst.SubnetID, inst.AZ)
	} else {
		a.Details = "{}"
	}
	if len(g.Activities) >= maxActivitiesPerGroup {
		drop := maxActivitiesPerGroup / 4
		for _, old := range g.Activities[:drop] {
			delete(s.activities, old.ID)
		}
		g.Activities = append(g.Activities[:0], g.Activities[drop:]...)
	}
	g.Activities = append(g.Activities, a)
	s.activities[a.ID] = a
	return a
}

func finishActivity(a *Activity, now time.Time) {
	a.StatusCode, a.Progress, a.EndTime = "Successful", 100, now
}

// publishASGEventLocked publishes an aws.autoscaling EventBridge event
// about a launch or termination.
func (s *Sim) publishASGEventLocked(g *Group, inst *Instance, a *Activity, detailType string) {
	resources := []string{g.ARN}
	instanceID := ""
	if inst != nil {
		instanceID = inst.ID
		resources = append(resources, s.instanceARN(inst.ID))
	}
	var details map[string]string
	_ = json.Unmarshal([]byte(a.Details), &details)
	detail := map[string]any{
		"Origin":               "EC2",
		"Destination":          "AutoScalingGroup",
		"StatusCode":           a.StatusCode,
		"AutoScalingGroupName": g.Name,
		"ActivityId":           a.ID,
		"Details":              details,
		"RequestId":            a.ID,
		"StatusMessage":        a.StatusMessage,
		"EndTime":              a.EndTime.UTC().Format(time.RFC3339Nano),
		"EC2InstanceId":        instanceID,
		"StartTime":            a.StartTime.UTC().Format(time.RFC3339Nano),
		"Cause":                a.Cause,
		"Description":          a.Description,
	}
	if strings.Contains(detailType, "Terminate") {
		detail["Origin"], detail["Destination"] = "AutoScalingGroup", "EC2"
	}
	s.publishEventLocked("aws.autoscaling", detailType, resources, detail)
}
