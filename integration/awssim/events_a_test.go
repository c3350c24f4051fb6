package awssim_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// The events the core publishes (interruption, rebalance, Auto Scaling
// launch/terminate) reach a subscribed queue in EventBridge's shape.
func TestScenarioEventsPublished(t *testing.T) {
	s := newASim(t, awssim.Options{})
	url := s.CreateQueue("events")
	aNoErr(t, s.SubscribeQueue("events", "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
		"EC2 Instance Launch Successful", "EC2 Instance Terminate Successful"))
	aNoErr(t, s.CreateGroup(awssim.GroupSpec{Name: "g", Desired: 1}))
	aWait(t, "in service", func() bool { return len(aInService(s, "g")) == 1 })
	id := aInService(s, "g")[0].ID
	aNoErr(t, s.RecommendRebalance(id))
	aNoErr(t, s.Interrupt(id, "terminate"))
	aWait(t, "terminated", func() bool { i, _ := s.Instance(id); return i.State == "terminated" })

	q := sqs.NewFromConfig(aConfig(s, aKey, aSecret))
	type event struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	got := map[string]event{}
	aWait(t, "four kinds of events", func() bool {
		out, err := q.ReceiveMessage(aCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		aNoErr(t, err)
		for _, m := range out.Messages {
			var e event
			aNoErr(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &e))
			if _, seen := got[e.DetailType]; !seen {
				got[e.DetailType] = e
			}
			_, err := q.DeleteMessage(aCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			aNoErr(t, err)
		}
		return len(got) == 4
	})
	var warn struct {
		InstanceID string `json:"instance-id"`
		Action     string `json:"instance-action"`
	}
	w := got["EC2 Spot Instance Interruption Warning"]
	aNoErr(t, json.Unmarshal(w.Detail, &warn))
	if w.Source != "aws.ec2" || warn.InstanceID != id || warn.Action != "terminate" || len(w.Resources) != 1 {
		t.Fatalf("warning %+v %+v", w, warn)
	}
	var launch struct {
		Group      string `json:"AutoScalingGroupName"`
		InstanceID string `json:"EC2InstanceId"`
		StatusCode string
	}
	l := got["EC2 Instance Launch Successful"]
	aNoErr(t, json.Unmarshal(l.Detail, &launch))
	if l.Source != "aws.autoscaling" || launch.Group != "g" || launch.InstanceID != id || launch.StatusCode != "Successful" {
		t.Fatalf("launch %+v %+v", l, launch)
	}
}
