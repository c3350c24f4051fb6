package admin

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// checkQueue: the interruption queue exists, enabled EventBridge rules
// send the EC2 events to it, and its policy lets them. Reading rules needs
// events:ListRuleNamesByTarget and events:DescribeRule, which the runner
// manager usually lacks: then the rules are reported unverified (warn).
func (d *Doctor) checkQueue(ctx context.Context) {
	const check = "interruption_queue"
	url := d.Target.Plugin.InterruptionQueueURL
	setupFix := toolName + " setup --name " + d.Target.Plugin.Name + " --interruption-queue NAME … (creates the queue, its policy and the rules)"
	if url == "" {
		d.add(StatusWarn, check, "none configured: the plugin learns of spot interruptions only by polling", setupFix+", then set plugin_config interruption_queue_url")
		return
	}
	attrs, err := d.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		// All, not Policy by name: the simulator rejects naming an unset one.
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	switch {
	case err != nil && (strings.Contains(errorCode(err), "NonExistentQueue") || errorCode(err) == "QueueDoesNotExist"):
		d.add(StatusFail, check, "queue "+url+" does not exist", setupFix)
		return
	case errorCode(err) == "InvalidAddress":
		d.add(StatusFail, check, "interruption_queue_url "+url+" is not a queue URL of this region: "+apiMessage(err), "copy the URL setup printed (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
		return
	case err != nil:
		msg, fix := apiProblem("sqs:GetQueueAttributes", err)
		d.add(StatusWarn, check, "queue "+url+" not verified: "+msg, fix)
		return
	}
	queueARN := attrs.Attributes["QueueArn"]
	d.add(StatusOK, check, "queue "+queueARN+" reachable", "")

	names, err := d.clients.Events.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(queueARN)})
	if err != nil {
		msg, fix := apiProblem("events:ListRuleNamesByTarget", err)
		d.add(StatusWarn, "event_rules", "rules feeding the queue not verified: "+msg, fix)
		return
	}
	covered := map[string]bool{}
	var ruleARNs, disabled []string
	for _, n := range names.RuleNames {
		r, err := d.clients.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(n)})
		if err != nil {
			msg, fix := apiProblem("events:DescribeRule", err)
			d.add(StatusWarn, "event_rules", "rule "+n+" not verified: "+msg, fix)
			continue
		}
		if r.State != ebtypes.RuleStateEnabled {
			disabled = append(disabled, n)
			continue
		}
		ruleARNs = append(ruleARNs, deref(r.Arn))
		for _, dt := range patternDetailTypes(deref(r.EventPattern), "aws.ec2") {
			covered[dt] = true
		}
	}
	var missing []string
	for _, dt := range ec2DetailTypes {
		if !covered[dt] {
			missing = append(missing, dt)
		}
	}
	if len(missing) > 0 {
		msg := "no enabled EventBridge rule sends " + strings.Join(missing, ", ") + " to the queue"
		if len(disabled) > 0 {
			msg += " (disabled: " + strings.Join(disabled, ", ") + ")"
		}
		d.add(StatusFail, "event_rules", msg, setupFix)
	} else {
		d.add(StatusOK, "event_rules", "EC2 spot events reach the queue through "+strings.Join(names.RuleNames, ", "), "")
	}
	var blocked []string
	for _, arn := range ruleARNs {
		if !policyAdmits(attrs.Attributes["Policy"], queueARN, arn) {
			blocked = append(blocked, arn)
		}
	}
	if len(blocked) > 0 {
		d.add(StatusFail, "queue_policy", "the queue policy does not let EventBridge send from "+strings.Join(blocked, ", ")+": events are dropped",
			"allow events.amazonaws.com sqs:SendMessage on the queue for those rules ("+setupFix+")")
	} else if len(ruleARNs) > 0 {
		d.add(StatusOK, "queue_policy", "EventBridge may send to the queue", "")
	}
}

// patternDetailTypes lists the detail-types a pattern matches for source
// (all of them when it names none).
func patternDetailTypes(pattern, source string) []string {
	var p map[string]any
	if json.Unmarshal([]byte(pattern), &p) != nil {
		return nil
	}
	if src, ok := p["source"]; ok && !containsAny(src, source) {
		return nil
	}
	dts, ok := p["detail-type"]
	if !ok {
		return ec2DetailTypes
	}
	var out []string
	for _, dt := range ec2DetailTypes {
		if containsAny(dts, dt) {
			out = append(out, dt)
		}
	}
	return out
}

func containsAny(v any, want string) bool {
	switch v := v.(type) {
	case string:
		return v == want
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// policyAdmits reports whether a queue policy lets EventBridge rule ruleARN
// send: an Allow for events.amazonaws.com with sqs:SendMessage (or sqs:*)
// whose aws:SourceArn condition, if any, names the rule (wildcards allowed).
func policyAdmits(policy, queueARN, ruleARN string) bool {
	var doc struct{ Statement json.RawMessage }
	if policy == "" || json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	var sts []map[string]any
	if json.Unmarshal(doc.Statement, &sts) != nil {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		sts = []map[string]any{one}
	}
	for _, st := range sts {
		principal, _ := st["Principal"].(map[string]any)
		if st["Effect"] != "Allow" || !containsAny(principal["Service"], "events.amazonaws.com") {
			continue
		}
		if !containsAny(st["Action"], "sqs:SendMessage") && !containsAny(st["Action"], "sqs:*") {
			continue
		}
		if r, ok := st["Resource"]; ok && !containsAny(r, queueARN) && !containsAny(r, "*") {
			continue
		}
		if cond, ok := st["Condition"].(map[string]any); ok && !conditionNames(cond, ruleARN) {
			continue
		}
		return true
	}
	return false
}

func conditionNames(cond map[string]any, arn string) bool {
	for op, kv := range cond {
		m, _ := kv.(map[string]any)
		want, ok := m["aws:SourceArn"]
		if !ok {
			continue
		}
		var vals []string
		switch w := want.(type) {
		case string:
			vals = []string{w}
		case []any:
			for _, x := range w {
				if s, ok := x.(string); ok {
					vals = append(vals, s)
				}
			}
		}
		matched := false
		for _, v := range vals {
			if strings.HasSuffix(op, "Like") {
				matched = matched || globMatch(v, arn)
			} else {
				matched = matched || v == arn
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// globMatch matches IAM wildcards (* and ?).
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}
