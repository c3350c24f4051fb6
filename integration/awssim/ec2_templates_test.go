package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestEC2LaunchTemplates(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)

	created, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("ci-runners"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String(awssim.ImageLinuxAMD64), InstanceType: types.InstanceTypeT3Micro,
			SecurityGroupIds: []string{"sg-0123"}, UserData: aws.String("IyEvYmluL3NoCg=="),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lt := created.LaunchTemplate
	id := aws.ToString(lt.LaunchTemplateId)
	if aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || lt.CreateTime == nil || len(id) != 20 {
		t.Fatalf("template %+v", lt)
	}

	_, err = c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("ci-runners"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(awssim.ImageLinuxAMD64)},
	})
	wantAPIError(t, err, "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")

	v2, err := c.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("ci-runners"), SourceVersion: aws.String("1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeM5Large},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := v2.LaunchTemplateVersion.LaunchTemplateData
	if aws.ToInt64(v2.LaunchTemplateVersion.VersionNumber) != 2 || d.InstanceType != types.InstanceTypeM5Large ||
		aws.ToString(d.ImageId) != awssim.ImageLinuxAMD64 || len(d.SecurityGroupIds) != 1 || aws.ToBool(v2.LaunchTemplateVersion.DefaultVersion) {
		t.Fatalf("version 2 %+v data %+v", v2.LaunchTemplateVersion, d)
	}

	versions := func(t *testing.T, vs ...string) []types.LaunchTemplateVersion {
		t.Helper()
		out, err := c.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: vs})
		if err != nil {
			t.Fatal(err)
		}
		return out.LaunchTemplateVersions
	}
	if got := versions(t, "$Latest"); len(got) != 1 || aws.ToInt64(got[0].VersionNumber) != 2 {
		t.Fatalf("$Latest = %+v", got)
	}
	if got := versions(t, "$Default"); len(got) != 1 || aws.ToInt64(got[0].VersionNumber) != 1 {
		t.Fatalf("$Default = %+v", got)
	}
	if got := versions(t); len(got) != 2 {
		t.Fatalf("all versions = %d", len(got))
	}

	mod, err := c.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("2")})
	if err != nil || aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber) != 2 {
		t.Fatalf("modify: %v %+v", err, mod)
	}
	if got := versions(t, "$Default"); aws.ToInt64(got[0].VersionNumber) != 2 || !aws.ToBool(got[0].DefaultVersion) {
		t.Fatalf("$Default after modify = %+v", got)
	}

	desc, err := c.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"ci-runners"}})
	if err != nil || len(desc.LaunchTemplates) != 1 || aws.ToInt64(desc.LaunchTemplates[0].LatestVersionNumber) != 2 {
		t.Fatalf("describe: %v %+v", err, desc)
	}

	errs := []struct {
		name string
		call func() error
		code string
	}{
		{"unknown id", func() error {
			_, err := c.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0")})
			return err
		}, "InvalidLaunchTemplateId.NotFound"},
		{"unknown name", func() error {
			_, err := c.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"unknown version", func() error {
			_, err := c.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"7"}})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{"bad name", func() error {
			_, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("a b"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-1")}})
			return err
		}, "InvalidLaunchTemplateName.MalformedException"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, "") })
	}

	if _, err := c.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("ci-runners")}); err != nil {
		t.Fatal(err)
	}
	desc, err = c.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil || len(desc.LaunchTemplates) != 0 {
		t.Fatalf("after delete: %v %+v", err, desc)
	}
}
