package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestEC2Catalog(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	f := func(name string, values ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: values}}
	}

	t.Run("subnets", func(t *testing.T) {
		out, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
		if err != nil || len(out.Subnets) != 3 {
			t.Fatalf("%v, %+v", err, out)
		}
		s := out.Subnets[0]
		if aws.ToString(s.AvailabilityZone) == "" || aws.ToString(s.AvailabilityZoneId) == "" || aws.ToString(s.VpcId) == "" || !aws.ToBool(s.MapPublicIpOnLaunch) || s.State != types.SubnetStateAvailable {
			t.Fatalf("subnet %+v", s)
		}
		out, err = c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: f("availability-zone", "us-east-1c")})
		if err != nil || len(out.Subnets) != 1 {
			t.Fatalf("az filter: %v, %+v", err, out)
		}
		_, err = c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0nope"}})
		wantAPIError(t, err, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-0nope' does not exist")
	})

	t.Run("availability zones", func(t *testing.T) {
		out, err := c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
		if err != nil || len(out.AvailabilityZones) != 3 {
			t.Fatalf("%v, %+v", err, out)
		}
		z := out.AvailabilityZones[0]
		if aws.ToString(z.ZoneName) != "us-east-1a" || aws.ToString(z.ZoneId) != "use1-az1" || z.State != types.AvailabilityZoneStateAvailable || aws.ToString(z.RegionName) != "us-east-1" {
			t.Fatalf("zone %+v", z)
		}
		out, err = c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1b"}})
		if err != nil || len(out.AvailabilityZones) != 1 {
			t.Fatalf("by name: %v, %+v", err, out)
		}
	})

	t.Run("images", func(t *testing.T) {
		tests := []struct {
			name string
			in   *ec2.DescribeImagesInput
			want []string
		}{
			{"all", &ec2.DescribeImagesInput{}, []string{awssim.ImageLinuxAMD64, awssim.ImageLinuxARM64, awssim.ImageWindowsAMD64}},
			{"by id", &ec2.DescribeImagesInput{ImageIds: []string{awssim.ImageWindowsAMD64}}, []string{awssim.ImageWindowsAMD64}},
			{"windows", &ec2.DescribeImagesInput{Filters: f("platform", "windows")}, []string{awssim.ImageWindowsAMD64}},
			{"arm64", &ec2.DescribeImagesInput{Filters: f("architecture", "arm64")}, []string{awssim.ImageLinuxARM64}},
			{"name wildcard, amazon", &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: f("name", "al2023-ami-*-x86_64")}, []string{awssim.ImageLinuxAMD64}},
			{"self owns none", &ec2.DescribeImagesInput{Owners: []string{"self"}}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, err := c.ec2.DescribeImages(ctx, tc.in)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, img := range out.Images {
					got = append(got, aws.ToString(img.ImageId))
					if img.State != types.ImageStateAvailable || aws.ToString(img.Name) == "" {
						t.Fatalf("image %+v", img)
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			})
		}
		_, err := c.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0000000000000dead"}})
		wantAPIError(t, err, "InvalidAMIID.NotFound", "The image id '[ami-0000000000000dead]' does not exist")
	})
}

func TestEC2DescribeInstanceTypes(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	out, err := c.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceTypeT4gMicro}})
	if err != nil || len(out.InstanceTypes) != 1 {
		t.Fatalf("%v, %+v", err, out)
	}
	it := out.InstanceTypes[0]
	if it.ProcessorInfo == nil || len(it.ProcessorInfo.SupportedArchitectures) != 1 || it.ProcessorInfo.SupportedArchitectures[0] != types.ArchitectureTypeArm64 ||
		aws.ToInt32(it.VCpuInfo.DefaultVCpus) != 2 || aws.ToInt64(it.MemoryInfo.SizeInMiB) != 1024 || len(it.SupportedUsageClasses) != 2 {
		t.Fatalf("t4g.micro %+v", it)
	}
	p := ec2.NewDescribeInstanceTypesPaginator(c.ec2, &ec2.DescribeInstanceTypesInput{
		MaxResults: aws.Int32(5),
		Filters:    []types.Filter{{Name: aws.String("processor-info.supported-architecture"), Values: []string{"x86_64"}}},
	})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.InstanceTypes)
	}
	if n < 10 {
		t.Fatalf("%d x86_64 types", n)
	}
	_, err = c.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"z9.huge"}})
	wantAPIError(t, err, "InvalidInstanceType", "")
}
