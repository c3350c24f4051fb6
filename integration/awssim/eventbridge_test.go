package awssim_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

const ebPattern = `{"source":["aws.ec2"],"detail-type":["EC2 Spot Instance Interruption Warning","EC2 Instance Rebalance Recommendation"]}`

func ebQueuePolicy(queueARN, ruleARN string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action": "sqs:SendMessage", "Resource": queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": ruleARN}},
		}},
	})
	return string(b)
}

// A rule with an SQS target delivers matching world events once the queue
// policy lets EventBridge in; without the policy nothing arrives.
func TestEventBridgeRuleDeliversToQueue(t *testing.T) {
	sim := newASim(t, awssim.Options{})
	ctx := aCtx(t)
	cfg := aConfig(sim, aKey, aSecret)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	url := sim.CreateQueue("interruptions")
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	aNoErr(t, err)
	queueARN := attrs.Attributes["QueueArn"]

	put, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("spot"), EventPattern: aws.String(ebPattern)})
	aNoErr(t, err)
	ruleARN := aws.ToString(put.RuleArn)
	if ruleARN != "arn:aws:events:us-east-1:123456789012:rule/spot" {
		t.Fatalf("rule ARN %s", ruleARN)
	}
	pt, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("spot"), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(queueARN)}}})
	aNoErr(t, err)
	if pt.FailedEntryCount != 0 {
		t.Fatalf("failed entries: %+v", pt.FailedEntries)
	}

	desc, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("spot")})
	aNoErr(t, err)
	if desc.State != ebtypes.RuleStateEnabled || aws.ToString(desc.EventPattern) != ebPattern {
		t.Fatalf("describe: %+v", desc)
	}
	names, err := eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(queueARN)})
	aNoErr(t, err)
	if len(names.RuleNames) != 1 || names.RuleNames[0] != "spot" {
		t.Fatalf("rules by target: %v", names.RuleNames)
	}

	aNoErr(t, sim.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 2, Desired: 1}))
	aWait(t, "an instance", func() bool { return len(aInService(sim, "g")) == 1 })
	id := aInService(sim, "g")[0].ID

	// No queue policy yet: EventBridge cannot deliver.
	aNoErr(t, sim.RecommendRebalance(id))
	if n := ebReceive(t, q, url); n != 0 {
		t.Fatalf("%d messages delivered without a queue policy", n)
	}

	_, err = q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Policy": ebQueuePolicy(queueARN, ruleARN)}})
	aNoErr(t, err)
	aNoErr(t, sim.Interrupt(id, "terminate"))
	if n := ebReceive(t, q, url); n != 1 {
		t.Fatalf("%d messages, want the interruption warning only (state changes do not match)", n)
	}

	_, err = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("spot")})
	aAPIError(t, err, "ValidationException", "has targets")
	_, err = eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("spot"), Ids: []string{"q"}})
	aNoErr(t, err)
	_, err = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("spot")})
	aNoErr(t, err)
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("spot")})
	aAPIError(t, err, "ResourceNotFoundException", "does not exist")
	if sim.CallCount("events", "PutRule") != 1 {
		t.Fatalf("calls: %v", sim.Calls())
	}
}

func TestEventBridgeRejectsBadPatterns(t *testing.T) {
	sim := newASim(t, awssim.Options{})
	eb := eventbridge.NewFromConfig(aConfig(sim, aKey, aSecret))
	for _, p := range []string{`not json`, `{}`, `{"source":"aws.ec2"}`, `{"source":[]}`} {
		_, err := eb.PutRule(aCtx(t), &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(p)})
		aAPIError(t, err, "InvalidEventPatternException", "Event pattern is not valid")
	}
	out, err := eb.ListRules(aCtx(t), &eventbridge.ListRulesInput{})
	aNoErr(t, err)
	if len(out.Rules) != 0 {
		t.Fatalf("rules: %+v", out.Rules)
	}
}

func ebReceive(t *testing.T, q *sqs.Client, url string) int {
	t.Helper()
	out, err := q.ReceiveMessage(aCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
	aNoErr(t, err)
	return len(out.Messages)
}

// Nested detail filters pick one group's Auto Scaling events; an ArnLike
// source condition in the queue policy admits the rule.
func TestEventBridgeDetailFilterAndArnLikePolicy(t *testing.T) {
	sim := newASim(t, awssim.Options{})
	ctx := aCtx(t)
	cfg := aConfig(sim, aKey, aSecret)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	url := sim.CreateQueue("asg")
	queueARN := "arn:aws:sqs:us-east-1:123456789012:asg"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["events.amazonaws.com"]},"Action":["sqs:SendMessage"],"Resource":"` + queueARN + `",` +
		`"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/g-*"}}}]}`
	_, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Policy": policy}})
	aNoErr(t, err)
	pattern := `{"source":["aws.autoscaling"],"detail-type":[{"prefix":"EC2 Instance Launch"}],"detail":{"AutoScalingGroupName":["g"],"EC2InstanceId":[{"exists":true}]}}`
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("g-asg"), EventPattern: aws.String(pattern)})
	aNoErr(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("g-asg"), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(queueARN)}}})
	aNoErr(t, err)

	aNoErr(t, sim.CreateGroup(awssim.GroupSpec{Name: "g", MaxSize: 2, Desired: 1}))
	aNoErr(t, sim.CreateGroup(awssim.GroupSpec{Name: "h", MaxSize: 2, Desired: 1}))
	aWait(t, "both groups in service", func() bool { return len(aInService(sim, "g")) == 1 && len(aInService(sim, "h")) == 1 })
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	aNoErr(t, err)
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages, want g's one launch", len(out.Messages))
	}
	var ev struct {
		DetailType string `json:"detail-type"`
		Detail     struct{ AutoScalingGroupName string }
	}
	aNoErr(t, json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &ev))
	if ev.DetailType != "EC2 Instance Launch Successful" || ev.Detail.AutoScalingGroupName != "g" {
		t.Fatalf("event %+v", ev)
	}
}
