package awssim

import (
	"strings"
	"testing"
)

// The queue policy EventBridge must pass, evaluated by AWS's documented
// rules (default deny, explicit deny wins, wildcards, Not* elements,
// conditions over aws:SourceArn and aws:SourceAccount).
func TestQueuePolicyEvaluation(t *testing.T) {
	const (
		queue = "arn:aws:sqs:us-east-1:123456789012:events"
		rule  = "arn:aws:events:us-east-1:123456789012:rule/spot"
	)
	doc := func(statements ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
	}
	allowEvents := `{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `"}`
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{"no policy", "", false},
		{"not JSON", "{", false},
		{"no statement", `{"Version":"2012-10-17"}`, false},
		{"allow", doc(allowEvents), true},
		{"one statement as an object", `{"Statement":` + allowEvents + `}`, true},
		{"principal list", doc(`{"Effect":"Allow","Principal":{"Service":["sns.amazonaws.com","events.amazonaws.com"]},"Action":"sqs:SendMessage","Resource":"` + queue + `"}`), true},
		{"principal star", doc(`{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"` + queue + `"}`), true},
		{"principal AWS star", doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:SendMessage","Resource":"` + queue + `"}`), true},
		{"other service", doc(`{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `"}`), false},
		{"account principal", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sqs:*","Resource":"` + queue + `"}`), false},
		{"no principal", doc(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"` + queue + `"}`), false},
		{"action wildcard", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:Send*","Resource":"` + queue + `"}`), true},
		{"action case", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"SQS:sendmessage","Resource":"` + queue + `"}`), true},
		{"action star", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"*","Resource":"` + queue + `"}`), true},
		{"other action", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:ReceiveMessage","Resource":"` + queue + `"}`), false},
		{"not action", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"NotAction":"sqs:DeleteQueue","Resource":"` + queue + `"}`), true},
		{"not action naming it", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"NotAction":"sqs:Send*","Resource":"` + queue + `"}`), false},
		{"resource wildcard", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:*"}`), true},
		{"other queue", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:other"}`), false},
		{"not resource", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:us-east-1:123456789012:other"}`), true},
		{"explicit deny wins", doc(allowEvents, `{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"`+queue+`"}`), false},
		{"deny for someone else", doc(allowEvents, `{"Effect":"Deny","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:*","Resource":"`+queue+`"}`), true},
		{"source arn equals", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + rule + `"}}}`), true},
		{"source arn of another rule", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/other"}}}`), false},
		{"source arn like, any of the values", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"ArnLike":{"aws:SourceArn":["arn:aws:events:*:*:rule/x","arn:aws:events:*:123456789012:rule/sp*"]}}}`), true},
		{"condition key case", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012"}}}`), true},
		{"every condition must hold", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"},"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/other"}}}`), false},
		{"not equals", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"StringNotEquals":{"aws:SourceAccount":"999999999999"}}}`), true},
		{"absent key", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}`), false},
		{"absent key, IfExists", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}`), true},
		{"null operator", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"Null":{"aws:SourceArn":"false"}}}`), true},
		{"unknown operator", doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queue + `","Condition":{"DateGreaterThan":{"aws:SourceArn":"x"}}}`), false},
		{"deny unless from the rule", doc(`{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"`+queue+`"}`, `{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"`+queue+`","Condition":{"ArnNotEquals":{"aws:SourceArn":"`+rule+`"}}}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queueAllowsEvents(tt.policy, queue, rule); got != tt.want {
				t.Errorf("queueAllowsEvents = %v, want %v for\n%s", got, tt.want, tt.policy)
			}
		})
	}
}
