package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go/middleware"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// unvalidatedASG is an Auto Scaling client without the SDK's client-side
// input validation, so malformed requests reach the simulator through the
// SDK's own serializer and its answer through the SDK's own deserializer.
func unvalidatedASG(s *awssim.Sim) *autoscaling.Client {
	return autoscaling.NewFromConfig(aConfig(s, aKey, aSecret), func(o *autoscaling.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			_, _ = stack.Initialize.Remove("OperationInputValidation") // absent when nothing is required
			return nil
		})
	})
}

// Every missing or malformed parameter of a call is reported at once, in
// AWS's ValidationError wording, as the SDK decodes it.
func TestQueryValidationReportsEveryProblem(t *testing.T) {
	s := newASim(t, awssim.Options{})
	c, ctx := unvalidatedASG(s), aCtx(t)
	tests := []struct {
		name string
		call func() error
		want []string
	}{
		{"create without sizes", func() error {
			_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g")})
			return err
		}, []string{"2 validation errors detected: ", "Value null at 'minSize' failed to satisfy constraint: Member must not be null",
			"; Value null at 'maxSize' failed to satisfy constraint: Member must not be null"}},
		{"terminate without instance and decrement", func() error {
			_, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{})
			return err
		}, []string{"2 validation errors detected: ", "Value null at 'instanceId'", "Value null at 'shouldDecrementDesiredCapacity'"}},
		{"set desired without anything", func() error {
			_, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{})
			return err
		}, []string{"2 validation errors detected: ", "Value null at 'autoScalingGroupName'", "Value null at 'desiredCapacity'"}},
		{"describe page too large", func() error {
			_, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(500)})
			return err
		}, []string{"1 validation error detected: Value '500' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100"}},
		{"lifecycle action without names", func() error {
			_, err := c.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{InstanceId: aws.String("i-1")})
			return err
		}, []string{"3 validation errors detected: ", "'lifecycleActionResult'", "'autoScalingGroupName'", "'lifecycleHookName'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			for _, w := range tt.want {
				aAPIError(t, err, "ValidationError", w)
			}
		})
	}
}
