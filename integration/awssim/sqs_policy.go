package awssim

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Queue access policies, evaluated as AWS documents policy evaluation for a
// resource-based policy (IAM User Guide, "Policy evaluation logic" and "IAM
// JSON policy elements"), for the one request the simulator makes on its
// own: EventBridge (service principal events.amazonaws.com) calling
// sqs:SendMessage on a rule's target queue, with the request context keys
// aws:SourceArn (the rule) and aws:SourceAccount.
//
//   - Everything is denied by default; a statement that matches with
//     Effect Deny wins over any Allow; otherwise one matching Allow allows.
//   - A statement matches when its principal, action, resource and every
//     condition match. Principal "*" (or {"AWS":"*"}) is anyone, service
//     principals are named under "Service"; NotPrincipal, NotAction and
//     NotResource match what they do not name.
//   - Actions match case-insensitively with * and ? wildcards ("sqs:Send*");
//     resources (ARNs) case-sensitively with wildcards.
//   - Conditions: every operator and every key must match, any one of a
//     key's values suffices. A key the request does not carry fails the
//     condition, except for the ...IfExists variants and Null. An operator
//     the simulator does not know fails the statement (AWS refuses such a
//     policy when it is set; SetQueueAttributes here only checks JSON).
//   - A document that is not valid JSON, or has no Statement, allows
//     nothing.

// policyRequest is the request a policy is evaluated for.
type policyRequest struct {
	Service  string // service principal, e.g. events.amazonaws.com
	Action   string // e.g. sqs:SendMessage
	Resource string // the queue ARN
	Context  map[string]string
}

// queueAllowsEvents reports whether the queue policy lets EventBridge's
// rule ruleARN deliver to the queue.
func queueAllowsEvents(policy, queueARN, ruleARN string) bool {
	account := ""
	if parts := strings.Split(ruleARN, ":"); len(parts) > 4 {
		account = parts[4]
	}
	return policyAllows(policy, policyRequest{
		Service: "events.amazonaws.com", Action: "sqs:SendMessage", Resource: queueARN,
		Context: map[string]string{"aws:SourceArn": ruleARN, "aws:SourceAccount": account},
	})
}

type policyStatement struct {
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       json.RawMessage
	NotAction    json.RawMessage
	Resource     json.RawMessage
	NotResource  json.RawMessage
	Condition    map[string]map[string]json.RawMessage
}

// policyAllows evaluates policy for req.
func policyAllows(policy string, req policyRequest) bool {
	var doc struct {
		Statement json.RawMessage
	}
	if policy == "" || json.Unmarshal([]byte(policy), &doc) != nil || len(doc.Statement) == 0 {
		return false
	}
	var statements []policyStatement
	if json.Unmarshal(doc.Statement, &statements) != nil {
		var one policyStatement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		statements = []policyStatement{one}
	}
	allowed := false
	for _, st := range statements {
		switch st.Effect {
		case "Deny":
			if st.matches(req) {
				return false
			}
		case "Allow":
			if st.matches(req) {
				allowed = true
			}
		}
	}
	return allowed
}

// matches reports whether the statement applies to req.
func (st policyStatement) matches(req policyRequest) bool {
	switch {
	case st.Principal != nil:
		if !principalMatches(st.Principal, req.Service) {
			return false
		}
	case st.NotPrincipal != nil:
		if principalMatches(st.NotPrincipal, req.Service) {
			return false
		}
	default:
		return false // a resource policy without a principal is invalid
	}
	switch {
	case st.Action != nil:
		if !anyWildcard(jsonStrings(st.Action), req.Action, true) {
			return false
		}
	case st.NotAction != nil:
		if anyWildcard(jsonStrings(st.NotAction), req.Action, true) {
			return false
		}
	default:
		return false
	}
	switch {
	case st.Resource != nil:
		if !anyWildcard(jsonStrings(st.Resource), req.Resource, false) {
			return false
		}
	case st.NotResource != nil:
		if anyWildcard(jsonStrings(st.NotResource), req.Resource, false) {
			return false
		}
	}
	for op, keys := range st.Condition {
		for key, raw := range keys {
			if !conditionMatches(op, req.Context, key, jsonStrings(raw)) {
				return false
			}
		}
	}
	return true
}

// principalMatches: "*" is everyone; otherwise the service principal must
// be named under "Service" ({"AWS":"*"} is everyone too).
func principalMatches(raw json.RawMessage, service string) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, v := range jsonStrings(m["AWS"]) {
		if v == "*" {
			return true
		}
	}
	for _, v := range jsonStrings(m["Service"]) {
		if v == service {
			return true
		}
	}
	return false
}

// conditionMatches evaluates one condition operator and key against the
// request context.
func conditionMatches(op string, ctx map[string]string, key string, want []string) bool {
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	have, present := lookupFold(ctx, key)
	if op == "Null" {
		// "true": the key must be absent; "false": present.
		for _, w := range want {
			if (w == "true") == !present {
				return true
			}
		}
		return false
	}
	if !present {
		return ifExists
	}
	var match func(w string) bool
	negate := false
	switch op {
	case "StringEquals", "ArnEquals":
		match = func(w string) bool { return w == have }
	case "StringNotEquals", "ArnNotEquals":
		match, negate = func(w string) bool { return w == have }, true
	case "StringEqualsIgnoreCase":
		match = func(w string) bool { return strings.EqualFold(w, have) }
	case "StringNotEqualsIgnoreCase":
		match, negate = func(w string) bool { return strings.EqualFold(w, have) }, true
	case "StringLike", "ArnLike":
		match = func(w string) bool { return wildcardMatch(w, have, false) }
	case "StringNotLike", "ArnNotLike":
		match, negate = func(w string) bool { return wildcardMatch(w, have, false) }, true
	default:
		return false
	}
	for _, w := range want {
		if match(w) {
			return !negate
		}
	}
	return negate
}

// lookupFold finds a context key: condition key names are case-insensitive.
func lookupFold(ctx map[string]string, key string) (string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// jsonStrings reads a policy element that is one string or a list of them.
func jsonStrings(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

func anyWildcard(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s, foldCase) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a policy pattern: * is any run of
// characters, ? any one.
func wildcardMatch(pattern, s string, foldCase bool) bool {
	re := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".") + "$"
	if foldCase {
		re = "(?i)" + re
	}
	ok, _ := regexp.MatchString(re, s)
	return ok
}
