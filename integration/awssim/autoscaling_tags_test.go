package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestGroupTags(t *testing.T) {
	s := newASim(t, awssim.Options{})
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 2}))
	asg := aASG(s)
	tag := func(group, key, value string) types.Tag {
		return types.Tag{ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(key), Value: aws.String(value), PropagateAtLaunch: aws.Bool(false)}
	}
	_, err := asg.CreateOrUpdateTags(aCtx(t), &autoscaling.CreateOrUpdateTagsInput{Tags: []types.Tag{tag("runners", "k", "v1")}})
	aNoErr(t, err)
	_, err = asg.CreateOrUpdateTags(aCtx(t), &autoscaling.CreateOrUpdateTagsInput{Tags: []types.Tag{tag("runners", "k", "v2")}})
	aNoErr(t, err)
	out, err := asg.DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"runners"}})
	aNoErr(t, err)
	found := ""
	for _, tg := range out.AutoScalingGroups[0].Tags {
		if aws.ToString(tg.Key) == "k" {
			found = aws.ToString(tg.Value)
		}
	}
	if found != "v2" {
		t.Errorf("tag k = %q, want v2", found)
	}

	_, err = asg.DeleteTags(aCtx(t), &autoscaling.DeleteTagsInput{Tags: []types.Tag{tag("runners", "k", "")}})
	aNoErr(t, err)
	if g, _ := s.Group("runners"); g.Tags["k"] != "" {
		t.Errorf("tag k left after DeleteTags: %v", g.Tags)
	}
	_, err = asg.CreateOrUpdateTags(aCtx(t), &autoscaling.CreateOrUpdateTagsInput{Tags: []types.Tag{tag("nope", "k", "v")}})
	aAPIError(t, err, "ValidationError", "not found")
}
