package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The control API: what a test (or the ec2spot-sim command) uses to shape
// the world, in Go and as JSON over HTTP under /_sim/ (see README.md).

// GroupSpec describes a runner group for CreateGroup. Zero values take the
// documented defaults.
type GroupSpec struct {
	Name    string `json:"name"`
	MinSize int    `json:"min_size"`
	MaxSize int    `json:"max_size"` // 0 = max(10, Desired)
	Desired int    `json:"desired"`
	// InstanceTypes are the overrides, in priority order; default
	// t3.micro, t3a.micro, m5.large.
	InstanceTypes []string `json:"instance_types,omitempty"`
	ImageID       string   `json:"image_id,omitempty"` // default ImageLinuxAMD64
	KeyName       string   `json:"key_name,omitempty"`
	OnDemandBase  int      `json:"on_demand_base"`
	// OnDemandPercentageAboveBase is used as given: 0 = all spot above base.
	OnDemandPercentageAboveBase int               `json:"on_demand_percentage_above_base"`
	SpotAllocationStrategy      string            `json:"spot_allocation_strategy,omitempty"` // default price-capacity-optimized
	AZs                         []string          `json:"azs,omitempty"`                      // default all three
	Unprotected                 bool              `json:"unprotected"`                        // default: NewInstancesProtectedFromScaleIn
	KeepAZRebalance             bool              `json:"keep_az_rebalance"`                  // default: AZRebalance suspended
	CapacityRebalance           bool              `json:"capacity_rebalance"`
	Tags                        map[string]string `json:"tags,omitempty"` // propagated at launch
}

// CreateGroup creates a launch template (named <Name>-template) and a
// mixed-instances group set up the way a runner group should be:
// protected from scale-in, AZRebalance suspended, one subnet per AZ.
func (s *Sim) CreateGroup(spec GroupSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.Name == "" {
		return fmt.Errorf("awssim: group name required")
	}
	if s.groups[spec.Name] != nil {
		return fmt.Errorf("awssim: group %s already exists", spec.Name)
	}
	if len(spec.InstanceTypes) == 0 {
		spec.InstanceTypes = []string{"t3.micro", "t3a.micro", "m5.large"}
	}
	if spec.ImageID == "" {
		spec.ImageID = ImageLinuxAMD64
	}
	if spec.SpotAllocationStrategy == "" {
		spec.SpotAllocationStrategy = "price-capacity-optimized"
	}
	if spec.MaxSize == 0 {
		spec.MaxSize = max(10, spec.Desired)
	}
	if len(spec.AZs) == 0 {
		for _, z := range s.zones {
			spec.AZs = append(spec.AZs, z.Name)
		}
	}
	if apiErr := sizeError(spec.MinSize, spec.MaxSize, spec.Desired); apiErr != nil {
		return fmt.Errorf("awssim: %s", apiErr.Message)
	}
	var subnets []string
	for _, az := range spec.AZs {
		sub := s.subnetInAZLocked(az)
		if sub == nil {
			return fmt.Errorf("awssim: unknown AZ %s", az)
		}
		subnets = append(subnets, sub.ID)
	}
	now := s.clock.Now()
	lt := &LaunchTemplate{
		ID: s.draws.id("lt-0", 16), Name: spec.Name + "-template", DefaultVersion: 1, LatestVersion: 1, CreateTime: now,
		Versions: map[int]*LaunchTemplateData{1: {Version: 1, ImageID: spec.ImageID, InstanceType: spec.InstanceTypes[0], KeyName: spec.KeyName, CreateTime: now}},
	}
	s.launchTemplates[lt.ID] = lt

	g := &Group{
		Name: spec.Name, MinSize: spec.MinSize, MaxSize: spec.MaxSize, Desired: spec.Desired,
		Mixed: &MixedPolicy{
			LaunchTemplate: LaunchTemplateSpec{ID: lt.ID, Name: lt.Name, Version: "$Latest"},
			Distribution: Distribution{
				OnDemandAllocationStrategy: "prioritized", OnDemandBaseCapacity: spec.OnDemandBase,
				OnDemandPercentageAboveBaseCapacity: spec.OnDemandPercentageAboveBase,
				SpotAllocationStrategy:              spec.SpotAllocationStrategy,
			},
		},
		AvailabilityZones: append([]string(nil), spec.AZs...), SubnetIDs: subnets,
		NewInstancesProtectedFromScaleIn: !spec.Unprotected, CapacityRebalance: spec.CapacityRebalance,
		SuspendedProcesses: map[string]string{}, Tags: map[string]string{}, PropagateAtLaunch: map[string]bool{},
		DefaultCooldown: 300, HealthCheckType: "EC2", DesiredCapacityType: "units", TerminationPolicies: []string{"Default"},
		CreatedTime: now, members: map[string]*Instance{}, launchTokens: map[string]any{}, protectedNoticeFor: -1,
	}
	if spec.SpotAllocationStrategy == "lowest-price" {
		g.Mixed.Distribution.SpotInstancePools = 2
	}
	sort.Strings(g.AvailabilityZones)
	for _, t := range spec.InstanceTypes {
		g.Mixed.Overrides = append(g.Mixed.Overrides, Override{InstanceType: t})
	}
	g.ARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", s.opts.Region, s.opts.AccountID, s.newRequestID(), spec.Name)
	if !spec.KeepAZRebalance {
		g.SuspendedProcesses["AZRebalance"] = "User suspended at " + asgTime(now)
	}
	for k, v := range spec.Tags {
		g.Tags[k], g.PropagateAtLaunch[k] = v, true
	}
	s.groups[g.Name] = g
	return nil
}

// Group returns a deep copy of a group (its activities oldest first).
func (s *Sim) Group(name string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return Group{}, false
	}
	return copyGroup(g), true
}

func copyGroup(g *Group) Group {
	c := *g
	c.members, c.launchTokens = nil, nil
	if g.LaunchTemplate != nil {
		lt := *g.LaunchTemplate
		c.LaunchTemplate = &lt
	}
	if g.Mixed != nil {
		m := *g.Mixed
		m.Overrides = append([]Override(nil), g.Mixed.Overrides...)
		c.Mixed = &m
	}
	c.AvailabilityZones = append([]string(nil), g.AvailabilityZones...)
	c.SubnetIDs = append([]string(nil), g.SubnetIDs...)
	c.TerminationPolicies = append([]string(nil), g.TerminationPolicies...)
	c.Policies = append([]ScalingPolicy(nil), g.Policies...)
	c.SuspendedProcesses = copyMap(g.SuspendedProcesses)
	c.Tags = copyMap(g.Tags)
	c.PropagateAtLaunch = copyMap(g.PropagateAtLaunch)
	c.Activities = make([]*Activity, len(g.Activities))
	for i, a := range g.Activities {
		ac := *a
		c.Activities[i] = &ac
	}
	return c
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Groups returns deep copies of all groups, by name.
func (s *Sim) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, copyGroup(g))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Reset returns the account to the default world: no groups, instances,
// templates, key pairs, queues, faults, throttles, latency or counters.
// The clock keeps running.
func (s *Sim) Reset() {
	s.mu.Lock()
	for _, inst := range s.instances {
		if inst.State == "running" {
			s.stopSSHHostLocked(inst)
		}
	}
	s.resetBLocked()
	s.eb = nil
	s.initWorldLocked()
	s.mu.Unlock()
	s.faults.mu.Lock()
	s.faults.init()
	if s.opts.Throttle {
		for svc, c := range defaultThrottles {
			s.faults.throttle[svc] = c
		}
	}
	s.faults.mu.Unlock()
}

// ---- HTTP ----

type controlRoute struct {
	method, path string
	// run returns the JSON result (nil = {"ok":true}) or an error (400).
	run func(s *Sim, hr *http.Request) (any, error)
}

func decode[T any](hr *http.Request) (T, error) {
	var v T
	dec := json.NewDecoder(hr.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("bad JSON body: %w", err)
	}
	return v, nil
}

// jsonDuration accepts "90s" or a number of seconds.
type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		v, err := time.ParseDuration(str)
		*d = jsonDuration(v)
		return err
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration must be a string like \"1.5s\" or seconds")
	}
	*d = jsonDuration(secs * float64(time.Second))
	return nil
}

type instanceBody struct {
	InstanceID string `json:"instance_id"`
	Action     string `json:"action,omitempty"`
	State      string `json:"state,omitempty"`
	Status     string `json:"status,omitempty"`
}

// coreControlRoutes: clock, world, faults, groups (see routes.go).
var coreControlRoutes = []controlRoute{
	{"GET", "/_sim/now", func(s *Sim, _ *http.Request) (any, error) {
		return map[string]any{"now": s.Now(), "speed": s.clock.Speed()}, nil
	}},
	{"POST", "/_sim/speed", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Speed float64 `json:"speed"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetSpeed(b.Speed)
		return map[string]any{"speed": s.clock.Speed()}, nil
	}},
	{"POST", "/_sim/advance", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Duration jsonDuration `json:"duration"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.Advance(time.Duration(b.Duration))
		return map[string]any{"now": s.Now()}, nil
	}},
	{"POST", "/_sim/pools", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			InstanceType string   `json:"instance_type"`
			AZ           string   `json:"az"`
			Market       Market   `json:"market"`
			Capacity     int      `json:"capacity"`
			SpotPrice    *float64 `json:"spot_price,omitempty"`
		}](hr)
		if err != nil {
			return nil, err
		}
		if b.Market != Spot && b.Market != OnDemand {
			return nil, fmt.Errorf("market must be spot or on-demand")
		}
		s.SetPoolCapacity(b.InstanceType, b.AZ, b.Market, b.Capacity)
		if b.SpotPrice != nil {
			s.SetSpotPrice(b.InstanceType, b.AZ, *b.SpotPrice)
		}
		return nil, nil
	}},
	{"GET", "/_sim/pools", func(s *Sim, _ *http.Request) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		type row struct {
			InstanceType string  `json:"instance_type"`
			AZ           string  `json:"az"`
			Market       Market  `json:"market"`
			Capacity     int     `json:"capacity"`
			SpotPrice    float64 `json:"spot_price,omitempty"`
		}
		out := make([]row, 0, len(s.pools))
		for k, p := range s.pools {
			out = append(out, row{k.InstanceType, k.AZ, k.Market, p.Capacity, p.SpotPrice})
		}
		sort.Slice(out, func(i, j int) bool {
			return fmt.Sprint(out[i].InstanceType, out[i].AZ, out[i].Market) < fmt.Sprint(out[j].InstanceType, out[j].AZ, out[j].Market)
		})
		return out, nil
	}},
	{"POST", "/_sim/spot-price", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			InstanceType string  `json:"instance_type"`
			AZ           string  `json:"az"`
			Price        float64 `json:"price"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetSpotPrice(b.InstanceType, b.AZ, b.Price)
		return nil, nil
	}},
	{"POST", "/_sim/interrupt", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.Interrupt(b.InstanceID, b.Action)
	}},
	{"POST", "/_sim/rebalance", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.RecommendRebalance(b.InstanceID)
	}},
	{"POST", "/_sim/terminate", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.TerminateExternally(b.InstanceID)
	}},
	{"POST", "/_sim/detach", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.DetachExternally(b.InstanceID)
	}},
	{"POST", "/_sim/lifecycle", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SetLifecycleState(b.InstanceID, b.State)
	}},
	{"POST", "/_sim/health", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[instanceBody](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SetHealth(b.InstanceID, b.Status)
	}},
	{"POST", "/_sim/termination-hook", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Group            string       `json:"group"`
			Remove           bool         `json:"remove"`
			HeartbeatTimeout jsonDuration `json:"heartbeat_timeout"`
			DefaultResult    string       `json:"default_result"`
			RetainOnAbandon  bool         `json:"retain_on_abandon"`
		}](hr)
		if err != nil {
			return nil, err
		}
		if b.Remove {
			return nil, s.SetTerminationHook(b.Group, nil)
		}
		return nil, s.SetTerminationHook(b.Group, &TerminationHook{HeartbeatTimeout: time.Duration(b.HeartbeatTimeout), DefaultResult: b.DefaultResult, RetainOnAbandon: b.RetainOnAbandon})
	}},
	{"POST", "/_sim/complete-termination", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			InstanceID string `json:"instance_id"`
			Result     string `json:"result"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.CompleteTermination(b.InstanceID, b.Result)
	}},
	{"POST", "/_sim/desired", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Group   string `json:"group"`
			Desired int    `json:"desired"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SetDesiredExternally(b.Group, b.Desired)
	}},
	{"POST", "/_sim/terminate-batch", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Mode string `json:"mode"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SetTerminateBatch(b.Mode)
	}},
	{"POST", "/_sim/faults", func(s *Sim, hr *http.Request) (any, error) {
		f, err := decode[Fault](hr)
		if err != nil {
			return nil, err
		}
		if f.Service == "" {
			return nil, fmt.Errorf("service required")
		}
		return map[string]string{"id": s.InjectFault(f)}, nil
	}},
	{"DELETE", "/_sim/faults", func(s *Sim, hr *http.Request) (any, error) {
		if id := hr.URL.Query().Get("id"); id != "" {
			if !s.RemoveFault(id) {
				return nil, fmt.Errorf("no fault %s", id)
			}
			return nil, nil
		}
		s.ClearFaults()
		return nil, nil
	}},
	{"POST", "/_sim/latency", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Service string       `json:"service"`
			Action  string       `json:"action"`
			Delay   jsonDuration `json:"delay"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetLatency(b.Service, b.Action, time.Duration(b.Delay))
		return nil, nil
	}},
	{"POST", "/_sim/throttle", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Service string  `json:"service"`
			Rate    float64 `json:"rate"`
			Burst   int     `json:"burst"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetThrottle(b.Service, b.Rate, b.Burst)
		return nil, nil
	}},
	{"POST", "/_sim/expire-credentials", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			AccessKey string `json:"access_key"`
			Expired   bool   `json:"expired"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.ExpireCredentials(b.AccessKey, b.Expired)
		return nil, nil
	}},
	{"GET", "/_sim/calls", func(s *Sim, _ *http.Request) (any, error) { return s.Calls(), nil }},
	{"DELETE", "/_sim/calls", func(s *Sim, _ *http.Request) (any, error) { s.ResetCalls(); return nil, nil }},
	{"POST", "/_sim/reset", func(s *Sim, _ *http.Request) (any, error) { s.Reset(); return nil, nil }},
	{"GET", "/_sim/instances", func(s *Sim, _ *http.Request) (any, error) { return s.Instances(), nil }},
	{"GET", "/_sim/groups", func(s *Sim, _ *http.Request) (any, error) { return s.Groups(), nil }},
	{"POST", "/_sim/groups", func(s *Sim, hr *http.Request) (any, error) {
		spec, err := decode[GroupSpec](hr)
		if err != nil {
			return nil, err
		}
		if err := s.CreateGroup(spec); err != nil {
			return nil, err
		}
		g, _ := s.Group(spec.Name)
		return g, nil
	}},
}

// serveControl serves /_sim/: JSON in, JSON out; errors are
// {"error": "..."} with status 400 (404 for unknown paths).
func (s *Sim) serveControl(w http.ResponseWriter, hr *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimSuffix(hr.URL.Path, "/")
	known := false
	for _, rt := range s.control {
		if rt.path != path {
			continue
		}
		known = true
		if rt.method != hr.Method {
			continue
		}
		out, err := rt.run(s, hr)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if out == nil {
			out = map[string]bool{"ok": true}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	status := http.StatusNotFound
	if known {
		status = http.StatusMethodNotAllowed
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": hr.Method + " " + hr.URL.Path + " is not a control call; see integration/awssim/README.md"})
}
