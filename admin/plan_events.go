package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The interruption queue and the EventBridge rules that feed it: one rule
// for the EC2 events of spot instances (account-wide: EC2 events do not
// name the group), one for this group's Auto Scaling events. The queue
// policy admits exactly those rules.

// Event detail-types the plugin consumes from the queue.
var (
	ec2DetailTypes = []string{
		"EC2 Spot Instance Interruption Warning",
		"EC2 Instance Rebalance Recommendation",
		"EC2 Instance State-change Notification",
	}
	autoScalingDetailTypes = []string{
		"EC2 Instance Launch Unsuccessful",
		"EC2 Instance Terminate Successful",
		"EC2 Instance-terminate Lifecycle Action",
	}
)

const targetID = toolName

type ruleSpec struct {
	Name        string
	Description string
	Pattern     map[string]any
}

func (r ruleSpec) patternJSON() string {
	b, _ := json.Marshal(r.Pattern) // map keys sort: stable text
	return string(b)
}

var ruleNameUnsafe = regexp.MustCompile(`[^.\-_A-Za-z0-9]`)

// ruleName derives a valid rule name (64 characters of [.-_A-Za-z0-9]).
func ruleName(group, suffix string) string {
	base := ruleNameUnsafe.ReplaceAllString(group, "-")
	if limit := 64 - len(suffix) - 1; len(base) > limit {
		base = base[:limit]
	}
	return base + "-" + suffix
}

func rulesFor(group string) []ruleSpec {
	return []ruleSpec{
		{
			Name:        ruleName(group, "ec2-spot-events"),
			Description: "Spot interruption warnings, rebalance recommendations and state changes for " + toolName + " (group " + group + ")",
			Pattern:     map[string]any{"source": []any{"aws.ec2"}, "detail-type": toAny(ec2DetailTypes)},
		},
		{
			Name:        ruleName(group, "autoscaling-events"),
			Description: "Auto Scaling events of group " + group + " for " + toolName,
			Pattern: map[string]any{"source": []any{"aws.autoscaling"}, "detail-type": toAny(autoScalingDetailTypes),
				"detail": map[string]any{"AutoScalingGroupName": []any{group}}},
		},
	}
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// queuePolicy lets EventBridge send from the given rules only.
func queuePolicy(queueARN string, ruleARNs []string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "EventBridgeRules",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": toAny(ruleARNs)}},
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// ruleARN builds a rule's ARN in the queue's partition, region and account.
func ruleARN(queueARN, rule string) string {
	f := strings.Split(queueARN, ":") // arn:PARTITION:sqs:REGION:ACCOUNT:NAME
	if len(f) < 6 {
		return ""
	}
	return "arn:" + f[1] + ":events:" + f[3] + ":" + f[4] + ":rule/" + rule
}

func (p *Plan) ruleARNs(queueARN string) []string {
	rules := rulesFor(p.Spec.Name)
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		out = append(out, ruleARN(queueARN, r.Name))
	}
	return out
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func (p *Plan) planQueue(ctx context.Context) error {
	name := p.Spec.InterruptionQueue
	res := "SQS queue " + name
	got, err := p.clients.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil && !strings.Contains(errorCode(err), "NonExistentQueue") && errorCode(err) != "QueueDoesNotExist" {
		return fmt.Errorf("looking up queue %s: %w", name, err)
	}
	setPolicy := func(ctx context.Context, st *applyState) error {
		_, err := p.clients.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl:   aws.String(st.queueURL),
			Attributes: map[string]string{"Policy": queuePolicy(st.queueARN, p.ruleARNs(st.queueARN))},
		})
		return err
	}
	if err != nil {
		p.add(OpCreate, res, "interruption queue for EventBridge events", func(ctx context.Context, st *applyState) error {
			out, err := p.clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{
				QueueName: aws.String(name),
				Tags:      map[string]string{ManagedTag: toolName},
			})
			if err != nil {
				return err
			}
			st.queueURL = deref(out.QueueUrl)
			return p.readQueueARN(ctx, st)
		})
		p.add(OpUpdate, "policy of "+res, "allow EventBridge rules "+strings.Join(ruleNames(p.Spec.Name), ", ")+" to send", setPolicy)
		return nil //nolint:nilerr // no such queue (other errors returned above): the plan creates it
	}
	p.state.queueURL = deref(got.QueueUrl)
	attrs, err := p.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: got.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		return fmt.Errorf("reading queue %s attributes: %w", name, err)
	}
	p.state.queueARN = attrs.Attributes["QueueArn"]
	if !sameJSON(attrs.Attributes["Policy"], queuePolicy(p.state.queueARN, p.ruleARNs(p.state.queueARN))) {
		detail := "allow EventBridge rules " + strings.Join(ruleNames(p.Spec.Name), ", ") + " to send"
		if attrs.Attributes["Policy"] != "" {
			detail = "replace the policy: " + detail
		}
		p.add(OpUpdate, "policy of "+res, detail, setPolicy)
	}
	return nil
}

func (p *Plan) readQueueARN(ctx context.Context, st *applyState) error {
	attrs, err := p.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(st.queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return err
	}
	st.queueARN = attrs.Attributes["QueueArn"]
	return nil
}

func ruleNames(group string) []string {
	rules := rulesFor(group)
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		out = append(out, r.Name)
	}
	return out
}

func (p *Plan) planRules(ctx context.Context) error {
	for _, r := range rulesFor(p.Spec.Name) {
		res := "EventBridge rule " + r.Name
		put := func(ctx context.Context, _ *applyState) error {
			_, err := p.clients.Events.PutRule(ctx, &eventbridge.PutRuleInput{
				Name: aws.String(r.Name), EventPattern: aws.String(r.patternJSON()),
				Description: aws.String(r.Description), State: ebtypes.RuleStateEnabled,
			})
			return err
		}
		target := func(ctx context.Context, st *applyState) error {
			out, err := p.clients.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{
				Rule: aws.String(r.Name), Targets: []ebtypes.Target{{Id: aws.String(targetID), Arn: aws.String(st.queueARN)}},
			})
			if err == nil && out.FailedEntryCount > 0 {
				err = fmt.Errorf("%s: %s", deref(out.FailedEntries[0].ErrorCode), deref(out.FailedEntries[0].ErrorMessage))
			}
			return err
		}
		targetDetail := "send to queue " + p.Spec.InterruptionQueue

		got, err := p.clients.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(r.Name)})
		if errorCode(err) == "ResourceNotFoundException" {
			p.add(OpCreate, res, "match "+r.patternJSON(), put)
			p.add(OpCreate, "target of "+res, targetDetail, target)
			continue
		}
		if err != nil {
			return fmt.Errorf("describing rule %s: %w", r.Name, err)
		}
		switch {
		case !sameJSON(deref(got.EventPattern), r.patternJSON()):
			p.add(OpUpdate, res, "match "+r.patternJSON(), put)
		case got.State != ebtypes.RuleStateEnabled:
			p.add(OpUpdate, res, "enable it (state "+string(got.State)+")", put)
		}
		targets, err := p.clients.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.Name)})
		if err != nil {
			return fmt.Errorf("listing targets of rule %s: %w", r.Name, err)
		}
		linked := false
		for _, t := range targets.Targets {
			linked = linked || (p.state.queueARN != "" && deref(t.Arn) == p.state.queueARN)
		}
		if !linked {
			p.add(OpCreate, "target of "+res, targetDetail, target)
		}
	}
	return nil
}
