package awssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// EventBridge delivery: matching published events against rule patterns,
// and the queue policy check EventBridge needs to pass before it can put
// an event on an SQS target.

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

// queueAllowsEvents reports whether a queue policy lets EventBridge (the
// rule ruleARN) send messages: an Allow statement for the service principal
// events.amazonaws.com with sqs:SendMessage (or sqs:*) on the queue and,
// when it has an aws:SourceArn condition, one naming the rule.
func queueAllowsEvents(policy, queueARN, ruleARN string) bool {
	if policy == "" {
		return false
	}
	var doc struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	var statements []map[string]any
	if json.Unmarshal(doc.Statement, &statements) != nil {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		statements = []map[string]any{one}
	}
	for _, st := range statements {
		if st["Effect"] != "Allow" {
			continue
		}
		principal, _ := st["Principal"].(map[string]any)
		if !containsString(principal["Service"], "events.amazonaws.com") {
			continue
		}
		if !containsString(st["Action"], "sqs:SendMessage") && !containsString(st["Action"], "sqs:*") {
			continue
		}
		if r, ok := st["Resource"]; ok && !containsString(r, queueARN) && !containsString(r, "*") {
			continue
		}
		if cond, ok := st["Condition"].(map[string]any); ok && !sourceARNMatches(cond, ruleARN) {
			continue
		}
		return true
	}
	return false
}

func sourceARNMatches(cond map[string]any, ruleARN string) bool {
	for op, kv := range cond {
		m, _ := kv.(map[string]any)
		want, ok := m["aws:SourceArn"]
		if !ok {
			continue
		}
		switch op {
		case "ArnEquals", "StringEquals":
			if !containsString(want, ruleARN) {
				return false
			}
		case "ArnLike", "StringLike":
			if !anyGlob(want, ruleARN) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func containsString(v any, want string) bool {
	for _, s := range stringsOf(v) {
		if s == want {
			return true
		}
	}
	return false
}

func anyGlob(v any, s string) bool {
	for _, g := range stringsOf(v) {
		re := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(g), `\*`, ".*"), `\?`, ".") + "$"
		if ok, _ := regexp.MatchString(re, s); ok {
			return true
		}
	}
	return false
}
