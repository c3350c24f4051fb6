package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// groupFacts are what the group checks learnt, for the later checks.
type groupFacts struct {
	raw        astypes.AutoScalingGroup
	snap       *ec2spot.Snapshot
	instanceID string // an InService member, "" when none
}

// setupRules are the checks the plugin's Init runs (ec2spot.CheckSetup),
// listed so doctor can say "ok" for each rule that passes.
var setupRules = []string{
	ec2spot.CheckScaleInProtection, ec2spot.CheckAZRebalance, ec2spot.CheckScalingPolicies, ec2spot.CheckMinSize,
	ec2spot.CheckWeightedCapacity, ec2spot.CheckDesiredCapacityType, ec2spot.CheckCapacityRebalance, ec2spot.CheckMaxSize,
	ec2spot.CheckUnprotectedInstances, ec2spot.CheckMaxInstanceLifetime, ec2spot.CheckWarmPool,
}

// ruleOK says what a passing rule found.
var ruleOK = map[string]string{
	ec2spot.CheckScaleInProtection:    "new instances are protected from scale-in",
	ec2spot.CheckAZRebalance:          "AZRebalance is suspended",
	ec2spot.CheckScalingPolicies:      "no scaling policies",
	ec2spot.CheckMinSize:              "MinSize is 0",
	ec2spot.CheckWeightedCapacity:     "no instance weights",
	ec2spot.CheckDesiredCapacityType:  "desired capacity counts instances",
	ec2spot.CheckCapacityRebalance:    "CapacityRebalance is off",
	ec2spot.CheckMaxSize:              "MaxSize is above 0",
	ec2spot.CheckUnprotectedInstances: "every instance is protected from scale-in",
	ec2spot.CheckMaxInstanceLifetime:  "no MaxInstanceLifetime",
	ec2spot.CheckWarmPool:             "no warm pool",
}

// checkGroup describes the group the way the plugin does; false when the
// checks that need the group cannot run.
func (d *Doctor) checkGroup(ctx context.Context) bool {
	name := d.Target.Plugin.Name
	group := ec2spot.NewGroup(ec2spot.GroupOptions{Name: name, Region: d.AWS.Region, Clients: ec2spot.NewClients(d.AWS)})
	snap, _, err := group.Refresh(ctx)
	var notFound *ec2spot.GroupNotFoundError
	switch {
	case errors.As(err, &notFound):
		d.add(StatusFail, "group", fmt.Sprintf("auto scaling group %q not found in %s", name, d.AWS.Region),
			"check plugin_config name and region, or create it: "+toolName+" setup --name "+name+" …")
		return false
	case err != nil:
		msg, fix := apiProblem("autoscaling:DescribeAutoScalingGroups", err)
		d.add(StatusFail, "group", msg, fix)
		return false
	}
	out, err := d.clients.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		d.add(StatusFail, "group", fmt.Sprintf("describing %s again failed: %v", name, err), "retry")
		return false
	}
	d.group = &groupFacts{raw: out.AutoScalingGroups[0], snap: snap}
	for _, i := range snap.Instances {
		if i.Phase == ec2spot.PhaseInService {
			d.group.instanceID = i.ID
			break
		}
	}
	d.add(StatusOK, "group", fmt.Sprintf("%s exists: min %d, max %d, desired %d, %d instances", name, snap.MinSize, snap.MaxSize, snap.Desired, len(snap.Instances)), "")
	return true
}

func (d *Doctor) checkSetupRules(ctx context.Context) {
	group := ec2spot.NewGroup(ec2spot.GroupOptions{Name: d.Target.Plugin.Name, Region: d.AWS.Region, Clients: ec2spot.NewClients(d.AWS)})
	findings, err := group.CheckSetup(ctx, d.group.snap)
	if err != nil {
		msg, fix := apiProblem("autoscaling:DescribePolicies", err)
		d.add(StatusFail, "setup_rules", msg, fix)
		return
	}
	byCheck := map[string]ec2spot.Finding{}
	for _, f := range findings {
		byCheck[f.Check] = f
	}
	listed := map[string]bool{}
	for _, c := range setupRules {
		listed[c] = true
		if f, ok := byCheck[c]; ok {
			d.addFinding(f)
		} else if why := d.ruleSkipped(c); why != "" {
			d.add(StatusSkip, c, why, "")
		} else {
			d.add(StatusOK, c, ruleOK[c], "")
		}
	}
	for _, f := range findings {
		if !listed[f.Check] { // a rule newer than this list
			d.addFinding(f)
		}
	}
	if m := d.Target.MaxInstances; m > 0 && m > d.group.snap.MaxSize {
		d.add(StatusFail, "max_instances", fmt.Sprintf("the runner's max_instances %d is above the group's MaxSize %d: fleeting refuses to start", m, d.group.snap.MaxSize),
			fmt.Sprintf("aws autoscaling update-auto-scaling-group --auto-scaling-group-name %s --max-size %d (or lower max_instances)", d.Target.Plugin.Name, m))
	}
}

// ruleSkipped says why a rule without a finding did not look, "" when it
// did. The unprotected-instances rule only looks while new instances are
// protected: with protection off every instance is unprotected by design,
// and scale_in_protection fails instead.
func (d *Doctor) ruleSkipped(check string) string {
	snap := d.group.snap
	if check != ec2spot.CheckUnprotectedInstances || snap.NewInstancesProtectedFromScaleIn {
		return ""
	}
	var unprotected []string
	for _, i := range snap.Instances {
		if !i.Protected && i.Phase.CountsTowardDesired() {
			unprotected = append(unprotected, i.ID)
		}
	}
	why := "skipped while scale-in protection of new instances is off (see scale_in_protection)"
	if len(unprotected) == 0 {
		return why
	}
	return fmt.Sprintf("%s; %d instance(s) unprotected now: %s", why, len(unprotected), strings.Join(unprotected, ", "))
}

func (d *Doctor) addFinding(f ec2spot.Finding) {
	status := StatusFail
	if f.Severity == ec2spot.SeverityWarning {
		status = StatusWarn
	}
	d.add(status, f.Check, f.Problem, f.Fix)
}

// launchTemplate is the group's template and version.
func (g *groupFacts) launchTemplate() (*astypes.LaunchTemplateSpecification, []string) {
	var types []string
	if m := g.raw.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil {
		for _, o := range m.LaunchTemplate.Overrides {
			if t := deref(o.InstanceType); t != "" {
				types = append(types, t)
			}
		}
		return m.LaunchTemplate.LaunchTemplateSpecification, types
	}
	return g.raw.LaunchTemplate, types
}

// checkTemplate: the template version resolves, its AMI exists, runs the
// connector's OS and architecture, and every override type can run it.
func (d *Doctor) checkTemplate(ctx context.Context) {
	const check = "launch_template"
	name := d.Target.Plugin.Name
	spec, types := d.group.launchTemplate()
	if spec == nil {
		d.add(StatusFail, check, "the group has no launch template (launch configurations cannot mix spot and on-demand)",
			toolName+" setup --name "+name+" … creates a launch template and a mixed instances policy")
		return
	}
	version := deref(spec.Version)
	if version == "" {
		version = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{version}}
	label := deref(spec.LaunchTemplateName)
	if id := deref(spec.LaunchTemplateId); id != "" {
		in.LaunchTemplateId = aws.String(id)
		label = orNone(label) + " (" + id + ")"
	} else {
		in.LaunchTemplateName = spec.LaunchTemplateName
	}
	out, err := d.clients.EC2.DescribeLaunchTemplateVersions(ctx, in)
	if ec2spot.IsAccessDenied(err) {
		d.add(StatusWarn, check, "not verified: access denied calling ec2:DescribeLaunchTemplateVersions", "run doctor with an identity that may read launch templates and images")
		return
	}
	if err != nil || len(out.LaunchTemplateVersions) == 0 {
		msg := fmt.Sprintf("launch template %s version %s cannot be read: %s", label, version, apiMessage(err))
		d.add(StatusFail, check, msg, "point the group at an existing template version ("+toolName+" setup does)")
		return
	}
	data := out.LaunchTemplateVersions[0].LaunchTemplateData
	image := ""
	if data != nil {
		image = deref(data.ImageId)
	}
	where := fmt.Sprintf("launch template %s version %s", label, version)
	switch {
	case image == "":
		d.add(StatusWarn, check, where+" names no AMI", "set an ImageId in the template")
		return
	case strings.HasPrefix(image, "resolve:ssm:"):
		d.add(StatusWarn, check, where+" takes its AMI from "+image+"; not verified", "")
		return
	}
	imgs, err := d.clients.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
	if (err != nil && strings.HasPrefix(errorCode(err), "InvalidAMIID")) || (err == nil && len(imgs.Images) == 0) {
		d.add(StatusFail, "ami", fmt.Sprintf("AMI %s of %s does not exist (deregistered, or from another region or account)", image, where),
			toolName+" setup --name "+name+" --ami ami-CURRENT … writes a new template version")
		return
	}
	if err != nil {
		msg, fix := apiProblem("ec2:DescribeImages", err)
		d.add(StatusWarn, "ami", msg, fix)
		return
	}
	img := imgs.Images[0]
	imageOS := "linux"
	if strings.EqualFold(string(img.Platform), "windows") {
		imageOS = "windows"
	}
	arch := goArch(string(img.Architecture))
	switch {
	case d.Target.OS != "" && d.Target.OS != imageOS:
		d.add(StatusFail, "ami", fmt.Sprintf("AMI %s is %s but connector_config os is %q: the runner would connect with the wrong protocol and shell", image, imageOS, d.Target.OS),
			fmt.Sprintf("set connector_config os = %q (or remove it: the plugin detects it), or use a %s AMI", imageOS, d.Target.OS))
	case d.Target.Arch != "" && d.Target.Arch != arch:
		d.add(StatusFail, "ami", fmt.Sprintf("AMI %s is %s but connector_config arch is %q", image, arch, d.Target.Arch),
			fmt.Sprintf("set connector_config arch = %q (or remove it)", arch))
	default:
		d.add(StatusOK, "ami", fmt.Sprintf("%s (%s/%s) of %s exists and matches the connector", image, imageOS, arch, where), "")
	}
	d.checkTypeArchitectures(ctx, types, string(img.Architecture))
}

// goArch maps EC2 architecture names onto the connector's.
func goArch(a string) string {
	switch a {
	case "x86_64":
		return "amd64"
	case "i386":
		return "386"
	}
	return a
}

func (d *Doctor) checkTypeArchitectures(ctx context.Context, types []string, arch string) {
	const check = "instance_types"
	if len(types) == 0 {
		return
	}
	out, err := d.clients.EC2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: toInstanceTypes(types)})
	if err != nil {
		msg, fix := apiProblem("ec2:DescribeInstanceTypes", err)
		d.add(StatusWarn, check, msg, fix)
		return
	}
	var bad []string
	for _, it := range out.InstanceTypes {
		ok := false
		if it.ProcessorInfo != nil {
			for _, a := range it.ProcessorInfo.SupportedArchitectures {
				ok = ok || string(a) == arch
			}
		}
		if !ok {
			bad = append(bad, string(it.InstanceType))
		}
	}
	if len(bad) > 0 {
		d.add(StatusFail, check, fmt.Sprintf("%s cannot run the %s AMI: every launch of them fails", strings.Join(bad, ", "), arch),
			"remove them from the mixed instances policy overrides ("+toolName+" setup --instance-types …)")
		return
	}
	d.add(StatusOK, check, fmt.Sprintf("%d types, all run %s: %s", len(types), arch, strings.Join(types, ", ")), "")
}

func (d *Doctor) checkZones() {
	azs := d.group.raw.AvailabilityZones
	if len(azs) < 2 {
		d.add(StatusWarn, "availability_zones", fmt.Sprintf("the group uses only %s: a spot capacity shortage there stops every launch", joinOr(azs, "no zone")),
			"add subnets in other availability zones to the group's VPCZoneIdentifier")
		return
	}
	d.add(StatusOK, "availability_zones", fmt.Sprintf("%d zones: %s", len(azs), strings.Join(azs, ", ")), "")
}

// checkActivities reports failed scaling activities of the last day: the
// group's only record of launches AWS refused.
func (d *Doctor) checkActivities(ctx context.Context) {
	const check = "scaling_activities"
	name := d.Target.Plugin.Name
	out, err := d.clients.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
		AutoScalingGroupName: aws.String(name), MaxRecords: aws.Int32(20),
	})
	if err != nil {
		msg, fix := apiProblem("autoscaling:DescribeScalingActivities", err)
		d.add(StatusWarn, check, msg, fix)
		return
	}
	since := d.Now().Add(-24 * time.Hour)
	var failed []astypes.Activity
	for _, a := range out.Activities {
		if a.StatusCode == astypes.ScalingActivityStatusCodeSuccessful && a.StartTime != nil && a.EndTime != nil &&
			strings.HasPrefix(deref(a.Description), "Launching") {
			d.slowestLaunch = max(d.slowestLaunch, a.EndTime.Sub(*a.StartTime))
		}
		if a.StatusCode == astypes.ScalingActivityStatusCodeFailed && (a.StartTime == nil || a.StartTime.After(since)) {
			failed = append(failed, a)
		}
	}
	if len(failed) == 0 {
		d.add(StatusOK, check, "no failed scaling activity in the last 24h", "")
		return
	}
	latest := failed[0] // newest first
	d.add(StatusWarn, check, fmt.Sprintf("%d failed scaling activities in the last 24h; latest: %s", len(failed), deref(latest.StatusMessage)),
		activityFix(deref(latest.StatusMessage), name))
}

// activityFix suggests a remedy from the failure's wording.
func activityFix(msg, group string) string {
	switch {
	case strings.Contains(msg, "capacity") || strings.Contains(msg, "InsufficientInstanceCapacity"):
		return "add instance types and availability zones, or raise --on-demand-base"
	case strings.Contains(msg, "AMI") || strings.Contains(msg, "image"):
		return "point the launch template at an existing AMI"
	case strings.Contains(msg, "limit") || strings.Contains(msg, "quota"):
		return "raise the EC2 vCPU quota (Service Quotas) or lower max_instances"
	}
	return "see aws autoscaling describe-scaling-activities --auto-scaling-group-name " + group
}
