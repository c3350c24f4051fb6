package awssim

import (
	"sort"
	"strconv"
	"strings"
)

// A group's launch template, MixedInstancesPolicy and zones, as
// CreateAutoScalingGroup and UpdateAutoScalingGroup send them.

// ltSpecParam reads a LaunchTemplateSpecification structure.
func ltSpecParam(q *params, prefix string) (LaunchTemplateSpec, bool) {
	spec := LaunchTemplateSpec{ID: q.Str(prefix + ".LaunchTemplateId"), Name: q.Str(prefix + ".LaunchTemplateName"), Version: q.Str(prefix + ".Version")}
	return spec, spec.ID != "" || spec.Name != ""
}

// checkLaunchTemplateLocked validates a spec the way Auto Scaling reports it
// and returns it with the template's id and name filled in.
func (s *Sim) checkLaunchTemplateLocked(spec LaunchTemplateSpec) (LaunchTemplateSpec, *APIError) {
	if spec.ID != "" && spec.Name != "" {
		return spec, validationError("Valid requests must contain either launchTemplateId or LaunchTemplateName.")
	}
	lt, _, apiErr := s.resolveLaunchTemplateLocked(spec)
	if apiErr != nil {
		return spec, validationError("%s", apiErr.Message)
	}
	spec.ID, spec.Name = lt.ID, lt.Name
	return spec, nil
}

// applyMixedParams applies MixedInstancesPolicy.* parameters over base:
// members that are absent keep their value, as partial updates need.
func (s *Sim) applyMixedParams(q *params, base *MixedPolicy) (*MixedPolicy, *APIError) {
	const pre = "MixedInstancesPolicy."
	const dp = pre + "InstancesDistribution."
	m := &MixedPolicy{Distribution: Distribution{OnDemandPercentageAboveBaseCapacity: 100, OnDemandAllocationStrategy: "prioritized", SpotAllocationStrategy: "lowest-price"}}
	if base != nil {
		m.LaunchTemplate = base.LaunchTemplate
		m.Overrides = append([]Override(nil), base.Overrides...)
		m.Distribution = base.Distribution
	}
	// Decode everything first, so every malformed member is reported at once.
	ltSpec, hasLT := ltSpecParam(q, pre+"LaunchTemplate.LaunchTemplateSpecification")
	type overrideParam struct {
		Override
		weight    string
		spec      LaunchTemplateSpec
		hasLTSpec bool
	}
	members := q.Members(pre + "LaunchTemplate.Overrides")
	overrides := make([]overrideParam, 0, len(members))
	for _, op := range members {
		o := overrideParam{Override: Override{InstanceType: q.Str(op + "InstanceType"), ImageID: q.Str(op + "ImageId")}, weight: q.Str(op + "WeightedCapacity")}
		o.spec, o.hasLTSpec = ltSpecParam(q, op+"LaunchTemplateSpecification")
		overrides = append(overrides, o)
	}
	onDemandStrategy, spotStrategy := q.Str(dp+"OnDemandAllocationStrategy"), q.Str(dp+"SpotAllocationStrategy")
	base0, baseSet := q.Int(dp + "OnDemandBaseCapacity")
	pct, pctSet := q.Int(dp + "OnDemandPercentageAboveBaseCapacity")
	pools, poolsSet := q.Int(dp + "SpotInstancePools")
	maxPrice, maxPriceSet := q.Str(dp+"SpotMaxPrice"), q.Has(dp+"SpotMaxPrice")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}

	if hasLT {
		spec, apiErr := s.checkLaunchTemplateLocked(ltSpec)
		if apiErr != nil {
			return nil, apiErr
		}
		m.LaunchTemplate = spec
	}
	if q.Has(pre + "LaunchTemplate.Overrides") {
		m.Overrides = nil // an empty list clears them
	}
	if len(overrides) > 0 && overrides[0].InstanceType != "" {
		m.Overrides = nil
		for _, o := range overrides {
			if o.InstanceType == "" {
				break
			}
			if o.weight != "" {
				n, err := strconv.Atoi(o.weight)
				if err != nil || n < 1 || n > 999 {
					return nil, validationError("Value '%s' at 'weightedCapacity' failed to satisfy constraint: Member must be between 1 and 999", o.weight)
				}
				o.WeightedCapacity = n
			}
			if o.hasLTSpec {
				spec, apiErr := s.checkLaunchTemplateLocked(o.spec)
				if apiErr != nil {
					return nil, apiErr
				}
				o.LaunchTemplate = &spec
			}
			m.Overrides = append(m.Overrides, o.Override)
		}
	}
	d := &m.Distribution
	if v := onDemandStrategy; v != "" {
		if v != "prioritized" && v != "lowest-price" {
			return nil, validationError("Valid values for OnDemandAllocationStrategy are: prioritized, lowest-price.")
		}
		d.OnDemandAllocationStrategy = v
	}
	if baseSet {
		if base0 < 0 {
			return nil, validationError("OnDemandBaseCapacity must be greater than or equal to 0.")
		}
		d.OnDemandBaseCapacity = base0
	}
	if pctSet {
		if pct < 0 || pct > 100 {
			return nil, validationError("OnDemandPercentageAboveBaseCapacity must be between 0 and 100.")
		}
		d.OnDemandPercentageAboveBaseCapacity = pct
	}
	if v := spotStrategy; v != "" {
		switch v {
		case "lowest-price", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized":
		default:
			return nil, validationError("Valid values for SpotAllocationStrategy are: lowest-price, capacity-optimized, capacity-optimized-prioritized, price-capacity-optimized.")
		}
		d.SpotAllocationStrategy = v
	}
	if poolsSet {
		if pools < 1 || pools > 20 {
			return nil, validationError("SpotInstancePools must be between 1 and 20.")
		}
		d.SpotInstancePools = pools
	}
	if maxPriceSet {
		if maxPrice != "" {
			if f, err := strconv.ParseFloat(maxPrice, 64); err != nil || f < 0.001 {
				return nil, validationError("SpotMaxPrice must be at least 0.001.")
			}
		}
		d.SpotMaxPrice = maxPrice // "" removes it
	}
	if d.SpotAllocationStrategy != "lowest-price" {
		d.SpotInstancePools = 0
	} else if d.SpotInstancePools == 0 {
		d.SpotInstancePools = 2
	}
	if m.LaunchTemplate.ID == "" {
		return nil, validationError("The request must contain the parameter MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.")
	}
	return m, nil
}

// zonesParamsLocked resolves AvailabilityZones / VPCZoneIdentifier.
func (s *Sim) zonesParamsLocked(q *params) (azs, subnets []string, set bool, apiErr *APIError) {
	if v := q.Str("VPCZoneIdentifier"); v != "" {
		seen := map[string]bool{}
		for _, id := range strings.Split(v, ",") {
			id = strings.TrimSpace(id)
			sub := s.subnetByIDLocked(id)
			if sub == nil {
				return nil, nil, true, validationError("The subnet ID '%s' does not exist", id)
			}
			subnets = append(subnets, id)
			if !seen[sub.AZ] {
				seen[sub.AZ] = true
				azs = append(azs, sub.AZ)
			}
		}
		sort.Strings(azs)
		return azs, subnets, true, nil
	}
	list := q.List("AvailabilityZones")
	if len(list) == 0 {
		return nil, nil, false, nil
	}
	for _, az := range list {
		if s.zoneLocked(az) == nil {
			return nil, nil, true, validationError("The availability zone '%s' is not legal", az)
		}
	}
	azs = append([]string(nil), list...)
	sort.Strings(azs)
	return azs, nil, true, nil
}
