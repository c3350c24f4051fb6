package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The launch template: setup writes a new version only when the settings
// it owns changed. It recognises its own versions by a fingerprint of those
// settings in the version description, because EC2 normalises what it
// returns (user data, profile ARNs) and a field-by-field diff would see
// changes that are not there.

const fingerprintPrefix = toolName + " setup "

// templateSettings are the launch template fields setup owns.
type templateSettings struct {
	ImageID         string   `json:"image_id"`
	KeyName         string   `json:"key_name,omitempty"`
	SecurityGroups  []string `json:"security_groups,omitempty"`
	InstanceProfile string   `json:"instance_profile,omitempty"`
	UserDataSHA256  string   `json:"user_data_sha256,omitempty"`
	IMDSv2          bool     `json:"imdsv2"`
}

func (p *Plan) templateSettings() templateSettings {
	t := templateSettings{
		ImageID: p.Spec.ImageID, KeyName: p.Spec.KeyName, InstanceProfile: p.Spec.InstanceProfile,
		SecurityGroups: slices.Sorted(slices.Values(p.Spec.SecurityGroups)), IMDSv2: true,
	}
	if len(p.Spec.UserData) > 0 {
		sum := sha256.Sum256(p.Spec.UserData)
		t.UserDataSHA256 = hex.EncodeToString(sum[:])
	}
	return t
}

func (t templateSettings) fingerprint() string {
	b, _ := json.Marshal(t)
	sum := sha256.Sum256(b)
	return fingerprintPrefix + hex.EncodeToString(sum[:8])
}

func (p *Plan) templateData() *ec2types.RequestLaunchTemplateData {
	d := &ec2types.RequestLaunchTemplateData{
		ImageId: aws.String(p.Spec.ImageID),
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpTokens:   ec2types.LaunchTemplateHttpTokensStateRequired,
			HttpEndpoint: ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
		},
	}
	if p.Spec.KeyName != "" {
		d.KeyName = aws.String(p.Spec.KeyName)
	}
	if len(p.Spec.SecurityGroups) > 0 {
		d.SecurityGroupIds = p.Spec.SecurityGroups
	}
	if ip := p.Spec.InstanceProfile; ip != "" {
		d.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{}
		if strings.HasPrefix(ip, "arn:") {
			d.IamInstanceProfile.Arn = aws.String(ip)
		} else {
			d.IamInstanceProfile.Name = aws.String(ip)
		}
	}
	if len(p.Spec.UserData) > 0 {
		d.UserData = aws.String(base64.StdEncoding.EncodeToString(p.Spec.UserData))
	}
	return d
}

func (p *Plan) templateSummary() string {
	parts := []string{p.Spec.ImageID}
	if p.Spec.KeyName != "" {
		parts = append(parts, "key pair "+p.Spec.KeyName)
	}
	if n := len(p.Spec.SecurityGroups); n > 0 {
		parts = append(parts, "security groups "+strings.Join(p.Spec.SecurityGroups, ","))
	}
	if p.Spec.InstanceProfile != "" {
		parts = append(parts, "instance profile "+p.Spec.InstanceProfile)
	}
	if n := len(p.Spec.UserData); n > 0 {
		parts = append(parts, fmt.Sprintf("user data %d bytes", n))
	}
	return strings.Join(append(parts, "IMDSv2 required"), ", ")
}

func (p *Plan) planTemplate(ctx context.Context) error {
	name := p.Spec.LaunchTemplate
	want := p.templateSettings().fingerprint()
	out, err := p.clients.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if err != nil && !strings.Contains(errorCode(err), "NotFound") {
		return fmt.Errorf("describing launch template %s: %w", name, err)
	}
	if err != nil || len(out.LaunchTemplates) == 0 {
		p.add(OpCreate, "launch template "+name, p.templateSummary(), func(ctx context.Context, st *applyState) error {
			res, err := p.clients.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
				LaunchTemplateName: aws.String(name), VersionDescription: aws.String(want), LaunchTemplateData: p.templateData(),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: []ec2types.Tag{{Key: aws.String(ManagedTag), Value: aws.String(toolName)}}}},
			})
			if err != nil {
				return err
			}
			st.templateID = deref(res.LaunchTemplate.LaunchTemplateId)
			st.templateVersion = strconv.FormatInt(deref(res.LaunchTemplate.LatestVersionNumber), 10)
			return nil
		})
		return nil //nolint:nilerr // no such template (other errors returned above): the plan creates it
	}
	lt := out.LaunchTemplates[0]
	id := deref(lt.LaunchTemplateId)
	vs, err := p.clients.EC2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"$Latest"}})
	if err != nil {
		return fmt.Errorf("describing launch template %s versions: %w", name, err)
	}
	if len(vs.LaunchTemplateVersions) > 0 && deref(vs.LaunchTemplateVersions[0].VersionDescription) == want {
		p.state.templateID = id
		p.state.templateVersion = strconv.FormatInt(deref(vs.LaunchTemplateVersions[0].VersionNumber), 10)
		return nil
	}
	detail := "settings differ from the latest version"
	if len(vs.LaunchTemplateVersions) > 0 {
		detail = p.templateChanges(vs.LaunchTemplateVersions[0])
	}
	p.state.templateID = id
	p.add(OpUpdate, "launch template "+name, fmt.Sprintf("new version %d (%s)", deref(lt.LatestVersionNumber)+1, detail), func(ctx context.Context, st *applyState) error {
		res, err := p.clients.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(id), VersionDescription: aws.String(want), LaunchTemplateData: p.templateData(),
		})
		if err != nil {
			return err
		}
		st.templateID = id
		st.templateVersion = strconv.FormatInt(deref(res.LaunchTemplateVersion.VersionNumber), 10)
		return nil
	})
	return nil
}

// templateChanges names what differs from the version EC2 describes, as
// far as it can be compared.
func (p *Plan) templateChanges(v ec2types.LaunchTemplateVersion) string {
	d := v.LaunchTemplateData
	if d == nil {
		return "settings differ from the latest version"
	}
	var ch []string
	if got := deref(d.ImageId); got != p.Spec.ImageID {
		ch = append(ch, fmt.Sprintf("image %s → %s", orNone(got), p.Spec.ImageID))
	}
	if got := deref(d.KeyName); got != p.Spec.KeyName {
		ch = append(ch, fmt.Sprintf("key pair %s → %s", orNone(got), orNone(p.Spec.KeyName)))
	}
	if !slices.Equal(slices.Sorted(slices.Values(d.SecurityGroupIds)), p.templateSettings().SecurityGroups) {
		ch = append(ch, "security groups")
	}
	want := ""
	if len(p.Spec.UserData) > 0 {
		want = base64.StdEncoding.EncodeToString(p.Spec.UserData)
	}
	if deref(d.UserData) != want {
		ch = append(ch, "user data")
	}
	if len(ch) == 0 {
		return "settings differ from the latest version"
	}
	return strings.Join(ch, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
