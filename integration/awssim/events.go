package awssim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// EventBridge delivery: events the world publishes (interruption warnings,
// rebalance recommendations, state changes, Auto Scaling activities) are
// put on every queue subscribed to their detail-type, in EventBridge's
// envelope, as a rule with an SQS target would.

// eventEnvelope is EventBridge's event shape, fields in its order.
type eventEnvelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

// publishEventLocked enqueues the event to subscribed queues. It runs under
// s.mu and never blocks: receivers are only signalled.
func (s *Sim) publishEventLocked(source, detailType string, resources []string, detail any) {
	if len(s.b.subscriptions) == 0 && !s.hasRulesLocked() {
		return
	}
	if resources == nil {
		resources = []string{}
	}
	if detail == nil {
		detail = struct{}{}
	}
	body, err := json.Marshal(eventEnvelope{
		Version: "0", ID: newUUID(), DetailType: detailType, Source: source,
		Account: s.opts.AccountID, Time: s.clock.Now().UTC().Format(time.RFC3339), Region: s.opts.Region,
		Resources: resources, Detail: detail,
	})
	if err != nil {
		panic(fmt.Sprintf("awssim: event detail of %q does not encode: %v", detailType, err))
	}
	copies := 1
	if s.b.duplicate {
		copies = 2
	}
	for queue, types := range s.b.subscriptions {
		q := s.queues[queue]
		if q == nil || (len(types) > 0 && !slices.Contains(types, detailType)) {
			continue
		}
		for range copies {
			s.enqueueLocked(q, string(body), 0, s.b.reorder)
		}
	}
	s.deliverToRulesLocked(body) // EventBridge rules (eventbridge.go)
}

// SubscribeQueue routes events with the given detail-types (none = all) to
// an existing queue, like an EventBridge rule targeting it. Subscribing
// again replaces the queue's detail-types.
func (s *Sim) SubscribeQueue(queueName string, detailTypes ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues[queueName] == nil {
		return fmt.Errorf("awssim: queue %q does not exist", queueName)
	}
	if s.b.subscriptions == nil {
		s.b.subscriptions = map[string][]string{}
	}
	s.b.subscriptions[queueName] = append([]string(nil), detailTypes...)
	return nil
}

// SetEventDelivery makes delivery imperfect the way EventBridge and SQS
// may be: duplicate delivers every event twice, reorder puts new events in
// front of those already queued.
func (s *Sim) SetEventDelivery(duplicate, reorder bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.duplicate, s.b.reorder = duplicate, reorder
}
