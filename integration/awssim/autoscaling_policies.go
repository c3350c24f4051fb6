package awssim

import (
	"fmt"
	"sort"
)

// Scaling policies: stored and described, never acted on.

type xmlPolicy struct {
	AutoScalingGroupName string
	PolicyName           string
	PolicyARN            string
	PolicyType           string
	AdjustmentType       string `xml:",omitempty"`
	ScalingAdjustment    *int   `xml:",omitempty"`
	Cooldown             *int   `xml:",omitempty"`
	Enabled              bool
}

func (s *Sim) putScalingPolicy(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	name := q.Required("PolicyName")
	pol := ScalingPolicy{Name: name, Type: cmpOr(q.Str("PolicyType"), "SimpleScaling"), AdjustmentType: q.Str("AdjustmentType"), Enabled: true}
	pol.ScalingAdjustment, _ = q.Int("ScalingAdjustment")
	pol.Cooldown, _ = q.Int("Cooldown")
	if v, ok := q.Bool("Enabled"); ok {
		pol.Enabled = v
	}
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	switch pol.Type {
	case "SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling":
	default:
		return nil, validationError("Invalid policy type %s", pol.Type)
	}
	replaced := false
	for i := range g.Policies {
		if g.Policies[i].Name == name {
			pol.ARN = g.Policies[i].ARN
			g.Policies[i] = pol
			replaced = true
		}
	}
	if !replaced {
		pol.ARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:autoScalingGroupName/%s:policyName/%s", s.opts.Region, s.opts.AccountID, s.newRequestID(), g.Name, name)
		g.Policies = append(g.Policies, pol)
	}
	return struct {
		PolicyARN string
	}{pol.ARN}, nil
}

func (s *Sim) deletePolicy(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	name := q.Required("PolicyName")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	for i, pol := range g.Policies {
		if pol.Name == name || pol.ARN == name {
			g.Policies = append(g.Policies[:i:i], g.Policies[i+1:]...)
			return nil, nil
		}
	}
	return nil, validationError("The scaling policy %s does not exist.", name)
}

func (s *Sim) describePolicies(r *request) (any, *APIError) {
	q := newParams(r.Params)
	pg := pageParams(q, 50, 100)
	policyNames, policyTypes, groupName := q.List("PolicyNames"), q.List("PolicyTypes"), q.Str("AutoScalingGroupName")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	after, apiErr := pg.after()
	if apiErr != nil {
		return nil, apiErr
	}
	names := map[string]bool{}
	for _, n := range policyNames {
		names[n] = true
	}
	types := map[string]bool{}
	for _, t := range policyTypes {
		types[t] = true
	}
	var groups []*Group
	if name := groupName; name != "" {
		if g := s.groups[name]; g != nil {
			groups = append(groups, g)
		}
	} else {
		for _, g := range s.groups {
			groups = append(groups, g)
		}
		sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	}
	var all []xmlPolicy
	for _, g := range groups {
		for _, pol := range g.Policies {
			if len(names) > 0 && !names[pol.Name] && !names[pol.ARN] {
				continue
			}
			if len(types) > 0 && !types[pol.Type] {
				continue
			}
			x := xmlPolicy{AutoScalingGroupName: g.Name, PolicyName: pol.Name, PolicyARN: pol.ARN, PolicyType: pol.Type,
				AdjustmentType: pol.AdjustmentType, Enabled: pol.Enabled}
			if pol.Type == "SimpleScaling" {
				adj, cd := pol.ScalingAdjustment, pol.Cooldown
				x.ScalingAdjustment, x.Cooldown = &adj, &cd
			}
			all = append(all, x)
		}
	}
	// A token of a policy deleted since is past the end: an empty page.
	page, next, _ := pageAfter(all, after, pg.limit, func(x xmlPolicy) string { return x.PolicyARN })
	out := struct {
		ScalingPolicies []xmlPolicy `xml:"ScalingPolicies>member"`
		NextToken       string      `xml:",omitempty"`
	}{ScalingPolicies: page, NextToken: next}
	return out, nil
}
