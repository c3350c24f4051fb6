package ec2spot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// Severity of a setup finding.
type Severity int

const (
	// SeverityError: the setup loses jobs or fights the runner; Init fails.
	SeverityError Severity = iota
	// SeverityWarning: risky but workable; logged.
	SeverityWarning
)

// Finding is one problem with the group's setup.
type Finding struct {
	Severity Severity
	Check    string // stable id, e.g. "scale_in_protection"
	Problem  string
	Fix      string // what to run or change
}

func (f Finding) Error() string { return f.Check + ": " + f.Problem + "; fix: " + f.Fix }

// Setup checks (stable ids).
const (
	CheckScaleInProtection    = "scale_in_protection"
	CheckAZRebalance          = "az_rebalance"
	CheckScalingPolicies      = "scaling_policies"
	CheckMinSize              = "min_size"
	CheckWeightedCapacity     = "weighted_capacity"
	CheckDesiredCapacityType  = "desired_capacity_type"
	CheckCapacityRebalance    = "capacity_rebalance"
	CheckMaxSize              = "max_size"
	CheckUnprotectedInstances = "unprotected_instances"
	CheckMaxInstanceLifetime  = "max_instance_lifetime"
	CheckWarmPool             = "warm_pool"
)

// CheckSetup reviews the group behind snap for settings that break a
// runner-managed group. It lists the scaling policies (DescribePolicies);
// everything else comes from the snapshot. Findings are in a fixed order.
func (g *Group) CheckSetup(ctx context.Context, snap *Snapshot) ([]Finding, error) {
	policies, err := g.policyNames(ctx)
	if err != nil {
		return nil, err
	}
	return checkSetup(snap, policies), nil
}

func (g *Group) policyNames(ctx context.Context) ([]string, error) {
	var names []string
	p := autoscaling.NewDescribePoliciesPaginator(g.clients.AutoScaling, &autoscaling.DescribePoliciesInput{
		AutoScalingGroupName: aws.String(g.name),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain("autoscaling:DescribePolicies", err)
		}
		for _, pol := range page.ScalingPolicies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	return names, nil
}

func checkSetup(s *Snapshot, policies []string) []Finding {
	name := s.Name
	update := "aws autoscaling update-auto-scaling-group --auto-scaling-group-name " + name
	var f []Finding
	add := func(sev Severity, check, problem, fix string) {
		f = append(f, Finding{Severity: sev, Check: check, Problem: problem, Fix: fix})
	}

	if !s.NewInstancesProtectedFromScaleIn {
		add(SeverityError, CheckScaleInProtection,
			"scale-in protection is off: the group itself may terminate busy instances whenever desired capacity drops",
			update+" --new-instances-protected-from-scale-in")
	}
	if !s.Suspended("AZRebalance") {
		add(SeverityError, CheckAZRebalance,
			"the AZRebalance process is not suspended: the group terminates busy instances to even out availability zones",
			"aws autoscaling suspend-processes --auto-scaling-group-name "+name+" --scaling-processes AZRebalance")
	}
	if len(policies) > 0 {
		add(SeverityError, CheckScalingPolicies,
			fmt.Sprintf("scaling policies are attached (%s): they change desired capacity behind the runner's back", strings.Join(policies, ", ")),
			"delete them: aws autoscaling delete-policy --auto-scaling-group-name "+name+" --policy-name "+policies[0])
	}
	if s.MinSize > 0 {
		add(SeverityError, CheckMinSize,
			fmt.Sprintf("MinSize is %d, not 0: the group keeps instances the runner cannot remove", s.MinSize),
			update+" --min-size 0")
	}
	if len(s.Weights) > 0 {
		var bad []string
		for typ, w := range s.Weights {
			if w != "1" {
				bad = append(bad, typ+"="+w)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			add(SeverityError, CheckWeightedCapacity,
				fmt.Sprintf("instance weights other than 1 are set (%s): the runner counts instances, the group would count capacity units", strings.Join(bad, ", ")),
				"remove WeightedCapacity from the mixed instances policy overrides (or set it to 1)")
		}
	}
	if t := s.DesiredCapacityType; t != "" && t != "units" {
		add(SeverityError, CheckDesiredCapacityType,
			fmt.Sprintf("DesiredCapacityType is %s, not units: the runner counts instances", t),
			update+" --desired-capacity-type units")
	}

	if s.CapacityRebalance {
		add(SeverityWarning, CheckCapacityRebalance,
			"CapacityRebalance is on: the group replaces Spot instances at elevated risk and terminates them under running jobs",
			update+" --no-capacity-rebalance")
	}
	if s.MaxSize == 0 {
		add(SeverityWarning, CheckMaxSize,
			"MaxSize is 0: no instance can ever be provisioned",
			update+" --max-size N (at least the runner's max_instances)")
	}
	var unprotected []string
	for _, i := range s.Instances {
		if !i.Protected && i.Phase.CountsTowardDesired() {
			unprotected = append(unprotected, i.ID)
		}
	}
	if s.NewInstancesProtectedFromScaleIn && len(unprotected) > 0 {
		add(SeverityWarning, CheckUnprotectedInstances,
			fmt.Sprintf("%d instance(s) launched before scale-in protection was enabled are unprotected (%s)", len(unprotected), strings.Join(unprotected, ", ")),
			"aws autoscaling set-instance-protection --auto-scaling-group-name "+name+" --protected-from-scale-in --instance-ids "+strings.Join(unprotected, " "))
	}
	if s.MaxInstanceLifetime > 0 {
		add(SeverityWarning, CheckMaxInstanceLifetime,
			fmt.Sprintf("MaxInstanceLifetime is %ds: the group replaces instances regardless of running jobs", s.MaxInstanceLifetime),
			update+" --max-instance-lifetime 0")
	}
	if s.WarmPool {
		add(SeverityWarning, CheckWarmPool,
			"a warm pool is configured: warm instances are never handed to the runner and cannot be scaled in by it",
			"aws autoscaling delete-warm-pool --auto-scaling-group-name "+name)
	}
	return f
}
