package awssim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestGroupScalesOutAndIn(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 10, Desired: 3, Unprotected: true}))
	aWait(t, "3 InService", func() bool { return len(aInService(s, "runners")) == 3 })

	insts := aInService(s, "runners")
	azs := map[string]bool{}
	for _, inst := range insts {
		azs[inst.AZ] = true
		if inst.State != "running" || inst.Market != awssim.Spot || inst.SpotRequestID == "" {
			t.Fatalf("instance %+v: want running spot", inst)
		}
		if inst.Tags["aws:autoscaling:groupName"] != "runners" {
			t.Fatalf("missing group tag: %v", inst.Tags)
		}
		if !strings.HasPrefix(inst.PrivateIP, "127.1.") || !strings.HasPrefix(inst.PublicIP, "127.2.") {
			t.Fatalf("addresses %s %s", inst.PrivateIP, inst.PublicIP)
		}
	}
	if len(azs) != 3 {
		t.Fatalf("want one instance per AZ, got %v", azs)
	}

	ctx := aCtx(t)
	_, err := aASG(s).SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(1)})
	aNoErr(t, err)
	aWait(t, "scale in to 1", func() bool {
		c := aGroupInstances(s, "runners")
		return c["InService"] == 1 && c["Terminating"] == 0
	})
}
