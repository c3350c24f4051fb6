package ec2spot

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The SDK calls of the spot features (interruption signals, launch-failure
// explanations, on-demand fallback, fleet shape), with the SDK's own
// signatures.

// SpotAutoScalingAPI is the part of the Auto Scaling client the spot
// features use.
type SpotAutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, params *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeScalingActivities(ctx context.Context, params *autoscaling.DescribeScalingActivitiesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
	UpdateAutoScalingGroup(ctx context.Context, params *autoscaling.UpdateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	CreateOrUpdateTags(ctx context.Context, params *autoscaling.CreateOrUpdateTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	DeleteTags(ctx context.Context, params *autoscaling.DeleteTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
}

// SpotEC2API is the part of the EC2 client the spot features use.
type SpotEC2API interface {
	DescribeSpotInstanceRequests(ctx context.Context, params *ec2.DescribeSpotInstanceRequestsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSpotInstanceRequestsOutput, error)
}

// SQSAPI is the part of the SQS client the interruption queue consumer uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var (
	_ SpotAutoScalingAPI = (*autoscaling.Client)(nil)
	_ SpotEC2API         = (*ec2.Client)(nil)
	_ SQSAPI             = (*sqs.Client)(nil)

	_ autoscaling.DescribeScalingActivitiesAPIClient = SpotAutoScalingAPI(nil)
	_ ec2.DescribeSpotInstanceRequestsAPIClient      = SpotEC2API(nil)
)

// SpotClients bundles the clients of the spot features.
type SpotClients struct {
	AutoScaling SpotAutoScalingAPI
	EC2         SpotEC2API
	SQS         SQSAPI
}

// NewSpotClients builds the spot features' clients from one SDK configuration.
func NewSpotClients(cfg aws.Config) SpotClients {
	return SpotClients{
		AutoScaling: autoscaling.NewFromConfig(cfg),
		EC2:         ec2.NewFromConfig(cfg),
		SQS:         sqs.NewFromConfig(cfg),
	}
}
