package awssim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// EventBridge delivery: matching published events against rule patterns;
// the queue policy EventBridge needs to pass before it can put an event on
// an SQS target is evaluated in sqs_policy.go.

// hasRulesLocked reports whether any rule could take an event.
func (s *Sim) hasRulesLocked() bool {
	return s.eb != nil && len(s.eb.rules) > 0
}

// deliverToRulesLocked puts an encoded event on the SQS targets of every
// enabled rule whose pattern matches it.
func (s *Sim) deliverToRulesLocked(body []byte) {
	if !s.hasRulesLocked() {
		return
	}
	var event map[string]any
	if json.Unmarshal(body, &event) != nil {
		return
	}
	copies := 1
	if s.b.duplicate {
		copies = 2
	}
	for _, rule := range s.sortedRulesLocked(func(r *ebRule) bool { return r.State == "ENABLED" }) {
		if !matchPattern(rule.pattern, event) {
			continue
		}
		for _, t := range rule.Targets {
			q := s.queueByARNLocked(t.Arn)
			if q == nil || !queueAllowsEvents(q.Attributes["Policy"], q.ARN, rule.ARN) {
				continue // EventBridge drops it (FailedInvocations)
			}
			for range copies {
				s.enqueueLocked(q, string(body), 0, s.b.reorder)
			}
		}
	}
}

func (s *Sim) queueByARNLocked(arn string) *Queue {
	for _, q := range s.queues {
		if q.ARN == arn {
			return q
		}
	}
	return nil
}

// matchPattern applies EventBridge matching: every pattern key must match;
// arrays match when any element matches the event value (or any element
// of an event array).
func matchPattern(pattern, event map[string]any) bool {
	for k, want := range pattern {
		got, present := event[k]
		switch want := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok || !matchPattern(want, sub) {
				return false
			}
		case []any:
			if !matchValues(want, got, present) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func matchValues(want []any, got any, present bool) bool {
	values := []any{got}
	if arr, ok := got.([]any); ok {
		values = arr
	}
	for _, w := range want {
		if f, ok := w.(map[string]any); ok {
			if matchFilter(f, values, present) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, v := range values {
			if fmt.Sprint(v) == fmt.Sprint(w) {
				return true
			}
		}
	}
	return false
}

func matchFilter(f map[string]any, values []any, present bool) bool {
	if e, ok := f["exists"].(bool); ok {
		return e == present
	}
	if !present {
		return false
	}
	if p, ok := f["prefix"].(string); ok {
		for _, v := range values {
			if s, ok := v.(string); ok && strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	if but, ok := f["anything-but"]; ok {
		excluded := []any{but}
		if arr, ok := but.([]any); ok {
			excluded = arr
		}
		for _, v := range values {
			for _, x := range excluded {
				if fmt.Sprint(v) == fmt.Sprint(x) {
					return false
				}
			}
		}
		return true
	}
	return false
}
