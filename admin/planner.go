package admin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// MakePlan reads the account (describe calls only) and returns the steps
// that make it match spec. Problems that would fail half-way through
// (unknown AMI, subnet or instance type, architecture mismatch) are
// reported here, before anything changes.
func MakePlan(ctx context.Context, c Clients, region string, spec Spec) (*Plan, error) {
	spec.applyDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Spec: spec, Region: region, clients: c}
	if err := p.inspectImage(ctx); err != nil {
		return nil, err
	}
	if err := p.inspectInstanceTypes(ctx); err != nil {
		return nil, err
	}
	if err := p.inspectSubnets(ctx); err != nil {
		return nil, err
	}
	if err := p.planTemplate(ctx); err != nil {
		return nil, err
	}
	if err := p.planGroup(ctx); err != nil {
		return nil, err
	}
	if err := p.planReadyHook(ctx); err != nil {
		return nil, err
	}
	if spec.InterruptionQueue != "" {
		if err := p.planQueue(ctx); err != nil {
			return nil, err
		}
		if err := p.planRules(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Plan) inspectImage(ctx context.Context) error {
	out, err := p.clients.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{p.Spec.ImageID}})
	if err != nil && !strings.HasPrefix(errorCode(err), "InvalidAMIID") {
		return fmt.Errorf("describing image %s: %w", p.Spec.ImageID, err)
	}
	if err != nil || len(out.Images) == 0 {
		return fmt.Errorf("--ami: image %s not found in %s (AMIs are regional; copy it or pick this region's id)", p.Spec.ImageID, p.Region)
	}
	img := out.Images[0]
	p.Windows = strings.EqualFold(string(img.Platform), "windows") // EC2 sends "windows", the SDK enum says "Windows"
	p.Architecture = string(img.Architecture)
	return nil
}

// inspectInstanceTypes checks every type exists and runs the AMI's
// architecture: a mismatched override fails every launch of that type.
func (p *Plan) inspectInstanceTypes(ctx context.Context) error {
	out, err := p.clients.EC2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: toInstanceTypes(p.Spec.InstanceTypes)})
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidInstanceType") {
			return fmt.Errorf("--instance-types: %s", apiMessage(err))
		}
		return fmt.Errorf("describing instance types: %w", err)
	}
	archs := map[string][]string{}
	for _, it := range out.InstanceTypes {
		var a []string
		if it.ProcessorInfo != nil {
			for _, x := range it.ProcessorInfo.SupportedArchitectures {
				a = append(a, string(x))
			}
		}
		archs[string(it.InstanceType)] = a
	}
	var bad []string
	for _, t := range p.Spec.InstanceTypes {
		a, ok := archs[t]
		switch {
		case !ok:
			bad = append(bad, t+" (unknown in "+p.Region+")")
		case p.Architecture != "" && !contains(a, p.Architecture):
			bad = append(bad, fmt.Sprintf("%s (%s)", t, strings.Join(a, "/")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("--instance-types: these cannot run image %s (%s): %s", p.Spec.ImageID, p.Architecture, strings.Join(bad, ", "))
	}
	return nil
}

func toInstanceTypes(list []string) []ec2types.InstanceType {
	out := make([]ec2types.InstanceType, len(list))
	for i, t := range list {
		out[i] = ec2types.InstanceType(t)
	}
	return out
}

func (p *Plan) inspectSubnets(ctx context.Context) error {
	out, err := p.clients.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: p.Spec.Subnets})
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidSubnetID") {
			return fmt.Errorf("--subnets: %s", apiMessage(err))
		}
		return fmt.Errorf("describing subnets: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range out.Subnets {
		if p.SubnetOwner == "" {
			p.SubnetOwner = deref(s.OwnerId)
		}
		if az := deref(s.AvailabilityZone); az != "" && !seen[az] {
			seen[az] = true
			p.AZs = append(p.AZs, az)
		}
	}
	sort.Strings(p.AZs)
	if len(p.AZs) == 1 {
		p.Notes = append(p.Notes, fmt.Sprintf("all subnets are in %s: a spot capacity shortage there stops every launch; add subnets in other availability zones", p.AZs[0]))
	}
	return nil
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}

func apiMessage(err error) string {
	if m := errorMessage(err); m != "" {
		return m
	}
	return err.Error()
}
