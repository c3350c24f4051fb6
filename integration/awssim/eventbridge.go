package awssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// EventBridge (AWS JSON 1.1, X-Amz-Target AWSEvents.*) on the default bus:
// rules with event patterns and SQS targets. Every event the world publishes
// (publishEventLocked) is matched against the enabled rules and delivered to
// their SQS targets, provided the queue's policy lets events.amazonaws.com
// send to it, as EventBridge requires (eventbridge_match.go).

const svcEvents = "events"

// ebRule is one rule on the default event bus.
type ebRule struct {
	Name         string
	ARN          string
	EventPattern string
	pattern      map[string]any
	State        string // ENABLED, DISABLED
	Description  string
	Targets      []ebTarget // in PutTargets order
}

type ebTarget struct {
	ID  string `json:"Id"`
	Arn string `json:"Arn"`
}

// ebState is a simulator's EventBridge rules, guarded by Sim.mu like the
// rest of the world.
type ebState struct {
	rules map[string]*ebRule // by name
}

func (s *Sim) ebLocked() *ebState {
	if s.eb == nil {
		s.eb = &ebState{rules: map[string]*ebRule{}}
	}
	return s.eb
}

func ebErr(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: 400}
}

func ebNoRule(name string) *APIError {
	return ebErr("ResourceNotFoundException", "Rule %s does not exist on EventBus default.", name)
}

func decodeEB(r *request, v any) *APIError {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return ebErr("ValidationException", "The request body could not be parsed: %v", err)
	}
	return nil
}

var ruleNameRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

func (s *Sim) ebRuleLocked(name string) (*ebRule, *APIError) {
	rule := s.ebLocked().rules[name]
	if rule == nil {
		return nil, ebNoRule(name)
	}
	return rule, nil
}

func checkBus(bus string) *APIError {
	if bus != "" && bus != "default" && !strings.HasSuffix(bus, ":event-bus/default") {
		return ebErr("ResourceNotFoundException", "Event bus %s does not exist.", bus)
	}
	return nil
}

func (s *Sim) ebPutRule(r *request) (any, *APIError) {
	var in struct {
		Name, EventPattern, ScheduleExpression, State, Description, EventBusName string
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	if apiErr := checkBus(in.EventBusName); apiErr != nil {
		return nil, apiErr
	}
	if !ruleNameRE.MatchString(in.Name) {
		return nil, ebErr("ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.ScheduleExpression != "" {
		return nil, ebErr("ValidationException", "ScheduleExpression is not supported by the simulator.")
	}
	pattern, err := parsePattern(in.EventPattern)
	if err != nil {
		return nil, ebErr("InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
	}
	switch in.State {
	case "":
		in.State = "ENABLED"
	case "ENABLED", "DISABLED":
	default:
		return nil, ebErr("ValidationException", "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.State)
	}
	st := s.ebLocked()
	rule := st.rules[in.Name]
	if rule == nil {
		rule = &ebRule{Name: in.Name, ARN: "arn:aws:events:" + s.opts.Region + ":" + s.opts.AccountID + ":rule/" + in.Name}
		st.rules[in.Name] = rule
	}
	rule.EventPattern, rule.pattern, rule.State, rule.Description = in.EventPattern, pattern, in.State, in.Description
	return map[string]string{"RuleArn": rule.ARN}, nil
}

// parsePattern accepts an event pattern: a JSON object whose leaves are
// arrays of values or of content filters (prefix, exists, anything-but).
func parsePattern(src string) (map[string]any, error) {
	if src == "" {
		return nil, fmt.Errorf("an event pattern is required")
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		return nil, fmt.Errorf("the pattern is not a JSON object: %w", err)
	}
	if err := checkPattern(p); err != nil {
		return nil, err
	}
	return p, nil
}

func checkPattern(p map[string]any) error {
	if len(p) == 0 {
		return fmt.Errorf("empty pattern")
	}
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("empty arrays are not allowed (%s)", k)
			}
		default:
			return fmt.Errorf("match value must be an array or object (%s)", k)
		}
	}
	return nil
}

type ebRuleJSON struct {
	Name         string
	Arn          string
	EventPattern string
	State        string
	Description  string `json:",omitempty"`
	EventBusName string
}

func (rule *ebRule) json() ebRuleJSON {
	return ebRuleJSON{Name: rule.Name, Arn: rule.ARN, EventPattern: rule.EventPattern, State: rule.State, Description: rule.Description, EventBusName: "default"}
}

func (s *Sim) ebDescribeRule(r *request) (any, *APIError) {
	var in struct{ Name, EventBusName string }
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	if apiErr := checkBus(in.EventBusName); apiErr != nil {
		return nil, apiErr
	}
	rule, apiErr := s.ebRuleLocked(in.Name)
	if apiErr != nil {
		return nil, apiErr
	}
	return struct {
		ebRuleJSON
		CreatedBy string
	}{rule.json(), s.opts.AccountID}, nil
}

func (s *Sim) sortedRulesLocked(keep func(*ebRule) bool) []*ebRule {
	var out []*ebRule
	for _, rule := range s.ebLocked().rules {
		if keep(rule) {
			out = append(out, rule)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ebPage pages names with the rule name as the (opaque) token.
func ebPage[T any](items []T, name func(T) string, limit int, token string) ([]T, string) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	start := 0
	for start < len(items) && token != "" && name(items[start]) <= token {
		start++
	}
	items = items[start:]
	if len(items) > limit {
		return items[:limit], name(items[limit-1])
	}
	return items, ""
}

func (s *Sim) ebListRules(r *request) (any, *APIError) {
	var in struct {
		NamePrefix, NextToken, EventBusName string
		Limit                               int
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	if apiErr := checkBus(in.EventBusName); apiErr != nil {
		return nil, apiErr
	}
	rules := s.sortedRulesLocked(func(rule *ebRule) bool { return strings.HasPrefix(rule.Name, in.NamePrefix) })
	page, next := ebPage(rules, func(rule *ebRule) string { return rule.Name }, in.Limit, in.NextToken)
	out := struct {
		Rules     []ebRuleJSON
		NextToken string `json:",omitempty"`
	}{Rules: []ebRuleJSON{}, NextToken: next}
	for _, rule := range page {
		out.Rules = append(out.Rules, rule.json())
	}
	return out, nil
}

func (s *Sim) ebDeleteRule(r *request) (any, *APIError) {
	var in struct {
		Name  string
		Force bool
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	rule := s.ebLocked().rules[in.Name]
	if rule == nil {
		return struct{}{}, nil // AWS: deleting a missing rule succeeds
	}
	if len(rule.Targets) > 0 {
		return nil, ebErr("ValidationException", "Rule can't be deleted since it has targets.")
	}
	delete(s.ebLocked().rules, in.Name)
	return struct{}{}, nil
}

type ebFailedEntry struct {
	TargetID     string `json:"TargetId"`
	ErrorCode    string
	ErrorMessage string
}

func (s *Sim) ebPutTargets(r *request) (any, *APIError) {
	var in struct {
		Rule, EventBusName string
		Targets            []ebTarget
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	rule, apiErr := s.ebRuleLocked(in.Rule)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(in.Targets) == 0 || len(in.Targets) > 10 {
		return nil, ebErr("ValidationException", "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	failed := []ebFailedEntry{}
	for _, t := range in.Targets {
		if t.ID == "" || !strings.HasPrefix(t.Arn, "arn:") {
			failed = append(failed, ebFailedEntry{t.ID, "ValidationException", "Target Id and a valid Arn are required."})
			continue
		}
		replaced := false
		for i := range rule.Targets {
			if rule.Targets[i].ID == t.ID {
				rule.Targets[i], replaced = t, true
			}
		}
		if !replaced {
			if len(rule.Targets) >= 5 {
				failed = append(failed, ebFailedEntry{t.ID, "LimitExceededException", "The requested resource exceeds the maximum number allowed."})
				continue
			}
			rule.Targets = append(rule.Targets, t)
		}
	}
	return map[string]any{"FailedEntryCount": len(failed), "FailedEntries": failed}, nil
}

func (s *Sim) ebListTargetsByRule(r *request) (any, *APIError) {
	var in struct{ Rule, EventBusName string }
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	rule, apiErr := s.ebRuleLocked(in.Rule)
	if apiErr != nil {
		return nil, apiErr
	}
	return map[string]any{"Targets": append([]ebTarget{}, rule.Targets...)}, nil
}

func (s *Sim) ebRemoveTargets(r *request) (any, *APIError) {
	var in struct {
		Rule, EventBusName string
		Ids                []string
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	rule, apiErr := s.ebRuleLocked(in.Rule)
	if apiErr != nil {
		return nil, apiErr
	}
	kept := rule.Targets[:0]
	for _, t := range rule.Targets {
		drop := false
		for _, id := range in.Ids {
			drop = drop || id == t.ID
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	rule.Targets = kept
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []ebFailedEntry{}}, nil
}

func (s *Sim) ebListRuleNamesByTarget(r *request) (any, *APIError) {
	var in struct {
		TargetArn, NextToken, EventBusName string
		Limit                              int
	}
	if apiErr := decodeEB(r, &in); apiErr != nil {
		return nil, apiErr
	}
	rules := s.sortedRulesLocked(func(rule *ebRule) bool {
		for _, t := range rule.Targets {
			if t.Arn == in.TargetArn {
				return true
			}
		}
		return false
	})
	page, next := ebPage(rules, func(rule *ebRule) string { return rule.Name }, in.Limit, in.NextToken)
	names := []string{}
	for _, rule := range page {
		names = append(names, rule.Name)
	}
	out := map[string]any{"RuleNames": names}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// Rules lists the EventBridge rules (tests), by name.
func (s *Sim) Rules() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rules := s.sortedRulesLocked(func(*ebRule) bool { return true })
	names := make([]string, 0, len(rules))
	for _, rule := range rules {
		names = append(names, rule.Name)
	}
	return names
}
