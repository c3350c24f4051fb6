// Package ec2spot speaks AWS for the plugin: it manages one EC2 Auto Scaling
// group (snapshots, scaling, termination) and the per-instance connection
// details (EC2 Instance Connect, Windows passwords). It knows nothing about
// fleeting; the provider package maps its results onto fleeting.
package ec2spot

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The interfaces below list exactly the SDK calls the plugin makes, with the
// SDK's own signatures, so the real clients satisfy them and the SDK
// paginators accept them. The README's IAM policy is checked against them:
// adding a method here means adding an IAM action there.

// AutoScalingAPI is the subset of the EC2 Auto Scaling client the plugin uses.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, params *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribePolicies(ctx context.Context, params *autoscaling.DescribePoliciesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribePoliciesOutput, error)
	// Init's check of the launch hook (ready_when = "lifecycle-hook").
	DescribeLifecycleHooks(ctx context.Context, params *autoscaling.DescribeLifecycleHooksInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
	// Launch-failure explanations and the on-demand fallback.
	DescribeScalingActivities(ctx context.Context, params *autoscaling.DescribeScalingActivitiesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
	// The on-demand fallback (percentage and its record in a group tag)
	// and the fleet shape.
	UpdateAutoScalingGroup(ctx context.Context, params *autoscaling.UpdateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	CreateOrUpdateTags(ctx context.Context, params *autoscaling.CreateOrUpdateTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	DeleteTags(ctx context.Context, params *autoscaling.DeleteTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
	// Synchronous launches (launch_mode = "synchronous").
	LaunchInstances(ctx context.Context, params *autoscaling.LaunchInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.LaunchInstancesOutput, error)
	// Spot interruption notices: the doomed member leaves the count.
	EnterStandby(ctx context.Context, params *autoscaling.EnterStandbyInput, optFns ...func(*autoscaling.Options)) (*autoscaling.EnterStandbyOutput, error)
	SetDesiredCapacity(ctx context.Context, params *autoscaling.SetDesiredCapacityInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	TerminateInstanceInAutoScalingGroup(ctx context.Context, params *autoscaling.TerminateInstanceInAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
}

// EC2API is the subset of the EC2 client the plugin uses.
type EC2API interface {
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	GetPasswordData(ctx context.Context, params *ec2.GetPasswordDataInput, optFns ...func(*ec2.Options)) (*ec2.GetPasswordDataOutput, error)
	// Spot interruption notices, polled once per Update.
	DescribeSpotInstanceRequests(ctx context.Context, params *ec2.DescribeSpotInstanceRequestsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSpotInstanceRequestsOutput, error)
	// The readiness gate (ready_when = "status-ok"), while members wait.
	DescribeInstanceStatus(ctx context.Context, params *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
}

// InstanceConnectAPI is the subset of the EC2 Instance Connect client the
// plugin uses.
type InstanceConnectAPI interface {
	SendSSHPublicKey(ctx context.Context, params *ec2instanceconnect.SendSSHPublicKeyInput, optFns ...func(*ec2instanceconnect.Options)) (*ec2instanceconnect.SendSSHPublicKeyOutput, error)
}

// SQSAPI is the subset of the SQS client the interruption queue consumer
// uses (only with interruption_queue_url).
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// The real clients must satisfy the interfaces, and the interfaces the
// paginators.
var (
	_ AutoScalingAPI     = (*autoscaling.Client)(nil)
	_ EC2API             = (*ec2.Client)(nil)
	_ InstanceConnectAPI = (*ec2instanceconnect.Client)(nil)
	_ SQSAPI             = (*sqs.Client)(nil)

	_ autoscaling.DescribeAutoScalingGroupsAPIClient = AutoScalingAPI(nil)
	_ autoscaling.DescribePoliciesAPIClient          = AutoScalingAPI(nil)
	_ autoscaling.DescribeScalingActivitiesAPIClient = AutoScalingAPI(nil)
	_ ec2.DescribeSpotInstanceRequestsAPIClient      = EC2API(nil)
	_ ec2.DescribeInstanceStatusAPIClient            = EC2API(nil)
)

// Clients bundles the service clients.
type Clients struct {
	AutoScaling     AutoScalingAPI
	EC2             EC2API
	InstanceConnect InstanceConnectAPI
	SQS             SQSAPI
}
