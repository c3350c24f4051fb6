package awssim_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func runSpot(t *testing.T, c *bClients) string {
	t.Helper()
	return runInstances(t, c, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64),
		InstanceMarketOptions: &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot},
	})[0]
}

// receiveAll drains the queue (short polls) and returns the bodies, deleting them.
func receiveAll(t *testing.T, c *bClients, url string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := c.sqs.ReceiveMessage(bCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := c.sqs.DeleteMessage(bCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestInterruptionEvent: an interruption notice reaches a subscribed queue
// as EventBridge's exact envelope, read with long polling.
func TestInterruptionEvent(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	url := c.sim.CreateQueue("spot-events")
	if err := c.sim.SubscribeQueue("spot-events", "EC2 Spot Instance Interruption Warning"); err != nil {
		t.Fatal(err)
	}
	id := runSpot(t, c)
	c.sim.Advance(time.Minute)

	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := c.sqs.ReceiveMessage(bCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 10})
		done <- result{out, err}
	}()
	time.Sleep(50 * time.Millisecond) // let the receive start waiting
	noticeAt := c.sim.Now()
	if err := c.sim.Interrupt(id, "terminate"); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || len(res.out.Messages) != 1 {
		t.Fatalf("%v, %+v", res.err, res.out)
	}

	var ev map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(res.out.Messages[0].Body)), &ev); err != nil {
		t.Fatal(err)
	}
	evID, _ := ev["id"].(string)
	evTime, _ := ev["time"].(string)
	when, err := time.Parse(time.RFC3339, evTime)
	if !uuidRE.MatchString(evID) || err != nil || when.Sub(noticeAt.Truncate(time.Second)).Abs() > 2*time.Second {
		t.Fatalf("id %q time %q (notice at %v)", evID, evTime, noticeAt)
	}
	want := map[string]any{
		"version":     "0",
		"id":          evID,
		"detail-type": "EC2 Spot Instance Interruption Warning",
		"source":      "aws.ec2",
		"account":     "123456789012",
		"time":        evTime,
		"region":      "us-east-1",
		"resources":   []any{"arn:aws:ec2:us-east-1:123456789012:instance/" + id},
		"detail":      map[string]any{"instance-id": id, "instance-action": "terminate"},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("event\n%v\nwant\n%v", ev, want)
	}
	// Only the subscribed detail-type arrives: no state changes.
	c.sim.Advance(3 * time.Minute)
	if bodies := receiveAll(t, c, url); len(bodies) != 0 {
		t.Fatalf("unsubscribed events delivered: %q", bodies)
	}
}

func TestEventDelivery(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	if err := c.sim.SubscribeQueue("missing"); err == nil {
		t.Fatal("subscribed a missing queue")
	}
	url := c.sim.CreateQueue("all-events")
	if err := c.sim.SubscribeQueue("all-events"); err != nil {
		t.Fatal(err)
	}
	detailTypes := func(bodies []string) []string {
		var out []string
		for _, b := range bodies {
			var ev struct {
				ID         string `json:"id"`
				DetailType string `json:"detail-type"`
				Detail     struct {
					State string `json:"state"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(b), &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev.DetailType+"/"+ev.Detail.State)
		}
		return out
	}
	id := runSpot(t, c)
	c.sim.Advance(time.Minute)
	if got, want := detailTypes(receiveAll(t, c, url)), []string{"EC2 Instance State-change Notification/pending", "EC2 Instance State-change Notification/running"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("in order: %q, want %q", got, want)
	}

	c.sim.SetEventDelivery(true, true)
	if err := c.sim.RecommendRebalance(id); err != nil {
		t.Fatal(err)
	}
	if err := c.sim.Interrupt(id, "terminate"); err != nil {
		t.Fatal(err)
	}
	bodies := receiveAll(t, c, url)
	want := []string{"EC2 Spot Instance Interruption Warning/", "EC2 Spot Instance Interruption Warning/", "EC2 Instance Rebalance Recommendation/", "EC2 Instance Rebalance Recommendation/"}
	if got := detailTypes(bodies); !reflect.DeepEqual(got, want) {
		t.Fatalf("duplicated and reordered: %q, want %q", got, want)
	}
	if bodies[0] != bodies[1] {
		t.Fatal("duplicate is not the same event (same id)")
	}
}
