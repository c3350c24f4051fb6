package ec2spot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The interruption queue: EventBridge rules put EC2 and Auto Scaling events
// on an SQS queue; a background consumer long-polls it and records the
// signals at once, so Heartbeat fails within a second of AWS's notice.
// Every message is deleted after it was read, whatever it held: duplicates,
// reordering, strangers' instances and malformed bodies change nothing.

// Event detail-types the consumer acts on.
const (
	EventSpotInterruption   = "EC2 Spot Instance Interruption Warning"
	EventRebalance          = "EC2 Instance Rebalance Recommendation"
	EventStateChange        = "EC2 Instance State-change Notification"
	EventTerminateSucceeded = "EC2 Instance Terminate Successful"
	EventTerminateLifecycle = "EC2 Instance-terminate Lifecycle Action"
	EventLaunchFailed       = "EC2 Instance Launch Unsuccessful"
)

// consumerBackoff bounds the pause after a failed ReceiveMessage.
const (
	minConsumerBackoff = time.Second
	maxConsumerBackoff = 30 * time.Second
)

// startConsumer runs the queue consumer until Stop, past the call that
// starts it: its context is its own.
//
//nolint:contextcheck // outlives the caller's context by design; Stop ends it
func (s *Spot) startConsumer() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopConsumer = cancel
	s.consumerDone = make(chan struct{})
	s.log.Info("consuming the interruption queue", "queue_url", s.queueURL)
	go func() {
		defer close(s.consumerDone)
		s.consume(ctx)
	}()
}

func (s *Spot) consume(ctx context.Context) {
	var errs onceLog
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		out, err := s.clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(s.queueURL),
			MaxNumberOfMessages: 10,
			WaitTimeSeconds:     s.queueWait,
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			errs.log(s.log, s.now(), "receiving from the interruption queue failed; retrying (spot request polling still runs)", explain("sqs:ReceiveMessage", err))
			backoff = min(max(2*backoff, minConsumerBackoff), maxConsumerBackoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		errs.reset()
		backoff = 0
		for _, m := range out.Messages {
			s.handleEvent(aws.ToString(m.Body))
			if _, err := s.clients.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{
				QueueUrl:      aws.String(s.queueURL),
				ReceiptHandle: m.ReceiptHandle,
			}); err != nil && ctx.Err() == nil {
				// It comes back after the visibility timeout; handled again harmlessly.
				errs.log(s.log, s.now(), "deleting a message from the interruption queue failed", explain("sqs:DeleteMessage", err))
			}
		}
	}
}

type eventEnvelope struct {
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

type eventDetail struct {
	InstanceID     string `json:"instance-id"`
	InstanceAction string `json:"instance-action"`
	State          string `json:"state"`
	// Auto Scaling events
	GroupName     string `json:"AutoScalingGroupName"`
	EC2InstanceID string `json:"EC2InstanceId"`
	ActivityID    string `json:"ActivityId"`
	StatusCode    string `json:"StatusCode"`
	StatusMessage string `json:"StatusMessage"`
	Description   string `json:"Description"`
}

// handleEvent records the signal one queue message carries, if any.
func (s *Spot) handleEvent(body string) {
	var env eventEnvelope
	var d eventDetail
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.DetailType == "" {
		s.log.Debug("ignoring a queue message that is not an EventBridge event", "body", excerpt(body))
		return
	}
	if len(env.Detail) > 0 {
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			s.log.Debug("ignoring an event with a malformed detail", "detail_type", env.DetailType, "body", excerpt(body))
			return
		}
	}
	at, _ := time.Parse(time.RFC3339, env.Time)

	switch env.DetailType {
	case EventSpotInterruption:
		s.recordEvent(env, d.InstanceID, Signal{Kind: SignalInterruption, Source: SourceQueue, Detail: d.InstanceAction, NoticeTime: at})
	case EventRebalance:
		s.recordEvent(env, d.InstanceID, Signal{Kind: SignalRebalance, Source: SourceQueue, Detail: "rebalance-recommendation", NoticeTime: at})
	case EventStateChange:
		switch d.State {
		case "shutting-down", "terminated", "stopping", "stopped":
			s.recordEvent(env, d.InstanceID, Signal{Kind: SignalStopped, Source: SourceQueue, Detail: d.State, NoticeTime: at})
		default:
			s.log.Trace("ignoring an instance state change", "instance", d.InstanceID, "state", d.State)
		}
	case EventTerminateSucceeded, EventTerminateLifecycle:
		if d.GroupName != s.group.Name() {
			s.log.Debug("ignoring an event of another auto scaling group", "detail_type", env.DetailType, "auto_scaling_group", d.GroupName)
			return
		}
		s.recordEvent(env, d.EC2InstanceID, Signal{Kind: SignalTerminating, Source: SourceQueue, Detail: env.DetailType, NoticeTime: at})
	case EventLaunchFailed:
		if d.GroupName != s.group.Name() {
			s.log.Debug("ignoring an event of another auto scaling group", "detail_type", env.DetailType, "auto_scaling_group", d.GroupName)
			return
		}
		cause := d.StatusMessage
		if cause == "" {
			cause = d.Description
		}
		s.failures.handle(LaunchFailure{ActivityID: d.ActivityID, Status: "Failed", Cause: cause, StartTime: at})
	default:
		s.log.Debug("ignoring an event the plugin does not act on", "detail_type", env.DetailType, "source", env.Source)
	}
}

func (s *Spot) recordEvent(env eventEnvelope, id string, sig Signal) {
	if id == "" {
		s.log.Debug("ignoring an event without an instance id", "detail_type", env.DetailType)
		return
	}
	if sig.dooms() && s.group.terminationRequested(id) {
		s.log.Trace("event of an instance the plugin is terminating itself", "detail_type", env.DetailType, "instance", id)
		return
	}
	if snap := s.group.Latest(); snap != nil {
		if _, ok := snap.Instance(id); !ok && !s.group.wasMember(id) {
			// Possibly launched since the last snapshot; kept (and logged)
			// in case it shows up, forgotten after an hour otherwise.
			s.log.Debug("event for an instance not (yet) seen in the group", "detail_type", env.DetailType, "instance", id)
		}
	}
	s.record(id, sig)
}

func excerpt(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
