package awssim_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestSQS(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)

	created, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events"), Attributes: map[string]string{"VisibilityTimeout": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	if url != c.sim.URL()+"/123456789012/events" {
		t.Fatalf("queue url %q", url)
	}
	got, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Fatalf("GetQueueUrl: %v %+v", err, got)
	}
	count := func(t *testing.T) (visible, inflight int) {
		t.Helper()
		out, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:123456789012:events" || out.Attributes["VisibilityTimeout"] != "1" {
			t.Fatalf("attributes %v", out.Attributes)
		}
		visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
		inflight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return
	}

	t.Run("send receive delete", func(t *testing.T) {
		sent, err := c.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("one")})
		if err != nil { // the SDK checks MD5OfMessageBody
			t.Fatal(err)
		}
		if v, _ := count(t); v != 1 {
			t.Fatalf("%d visible", v)
		}
		recv, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil || len(recv.Messages) != 1 {
			t.Fatalf("%v, %+v", err, recv)
		}
		m := recv.Messages[0]
		if aws.ToString(m.Body) != "one" || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || m.Attributes["ApproximateReceiveCount"] != "1" {
			t.Fatalf("message %+v", m)
		}
		if v, f := count(t); v != 0 || f != 1 {
			t.Fatalf("%d visible, %d in flight", v, f)
		}
		// Not deleted: visible again after the 1 s visibility timeout.
		recv, err = c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), WaitTimeSeconds: 5,
			//nolint:staticcheck // SA1019: older consumers still send AttributeNames
			AttributeNames: []sqstypes.QueueAttributeName{"All"},
		})
		if err != nil || len(recv.Messages) != 1 || recv.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
			t.Fatalf("redelivery: %v, %+v", err, recv)
		}
		if _, err := c.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: recv.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		if v, f := count(t); v != 0 || f != 0 {
			t.Fatalf("after delete: %d visible, %d in flight", v, f)
		}
	})

	t.Run("long polling", func(t *testing.T) {
		go func() {
			time.Sleep(100 * time.Millisecond)
			_ = c.sim.SendRawMessage("events", "late")
		}()
		start := time.Now()
		recv, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 10})
		if err != nil || len(recv.Messages) != 1 || aws.ToString(recv.Messages[0].Body) != "late" {
			t.Fatalf("%v, %+v", err, recv)
		}
		if d := time.Since(start); d >= 9*time.Second {
			t.Fatalf("long poll returned after %v: it waited out its 10 s instead of returning on the message", d)
		}
		if _, err := c.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: recv.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		// Empty queue, short wait: returns empty after about the wait.
		start = time.Now()
		recv, err = c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, VisibilityTimeout: 30})
		if err != nil || len(recv.Messages) != 0 || time.Since(start) < 900*time.Millisecond {
			t.Fatalf("empty long poll: %v, %+v after %v", err, recv, time.Since(start))
		}
	})

	t.Run("purge", func(t *testing.T) {
		_ = c.sim.SendRawMessage("events", "x")
		if _, err := c.sqs.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		if v, f := count(t); v+f != 0 {
			t.Fatalf("after purge: %d visible, %d in flight", v, f)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
		if !errors.As(err, new(*sqstypes.QueueDoesNotExist)) {
			t.Fatalf("unknown queue: %v (%T)", err, err)
		}
		wantAPIError(t, err, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
		_, err = c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(c.sim.URL() + "/123456789012/nope")})
		if !errors.As(err, new(*sqstypes.QueueDoesNotExist)) {
			t.Fatalf("receive from unknown queue: %v", err)
		}
		_, err = c.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("bogus")})
		if !errors.As(err, new(*sqstypes.ReceiptHandleIsInvalid)) {
			t.Fatalf("bogus receipt handle: %v", err)
		}
		_, err = c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
		wantAPIError(t, err, "InvalidParameterValue", "")
		_, err = c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
		wantAPIError(t, err, "InvalidParameterValue", "")
	})
}

func TestSQSBatchAndVisibility(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)
	url := c.sim.CreateQueue("batch")
	for _, b := range []string{"a", "b", "c"} {
		_ = c.sim.SendRawMessage("batch", b)
	}
	recv, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 3, VisibilityTimeout: 60})
	if err != nil || len(recv.Messages) != 3 {
		t.Fatalf("%v %+v", err, recv)
	}
	// Hand one back at once; it is receivable again.
	if _, err := c.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: recv.Messages[2].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(again.Messages) != 1 || aws.ToString(again.Messages[0].Body) != "c" {
		t.Fatalf("after visibility change: %v %+v", err, again)
	}
	del, err := c.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: recv.Messages[0].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: recv.Messages[1].ReceiptHandle},
		{Id: aws.String("3"), ReceiptHandle: aws.String("bogus")},
	}})
	if err != nil || len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("batch delete: %v %+v", err, del)
	}
	list, err := c.sqs.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("ba")})
	if err != nil || len(list.QueueUrls) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("batch")})
	if !errors.As(err, new(*sqstypes.QueueDoesNotExist)) {
		t.Fatalf("deleted queue: %v", err)
	}
}
