package awssim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// params decodes one AWS Query request (Auto Scaling) the way the SDK's
// awsAwsquery serializers encode it: scalars as Name=value, lists as
// Name.member.N, structures as Name.Member, booleans "true"/"false".
// Problems are collected, not returned one by one: Err reports all of them
// in the ValidationError envelope AWS uses for input that fails the model
// ("2 validation errors detected: Value null at 'minSize' failed to satisfy
// constraint: Member must not be null; …"), which the SDK's
// awsAwsquery_deserializeOpError decodes into a smithy.GenericAPIError.
type params struct {
	v    url.Values
	errs []string
}

func newParams(v url.Values) *params { return &params{v: v} }

// fail notes a model violation of the member name (written as AWS does,
// lowerCamel: "minSize", "mixedInstancesPolicy.instancesDistribution…").
func (p *params) fail(format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// Has reports whether name was sent at all (an empty value counts).
func (p *params) Has(name string) bool {
	_, ok := p.v[name]
	return ok
}

// HasPrefix reports whether any parameter starts with prefix.
func (p *params) HasPrefix(prefix string) bool {
	for k := range p.v {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// Str returns name's value, "" when absent.
func (p *params) Str(name string) string { return p.v.Get(name) }

// Required returns name's value and notes a missing or empty one.
func (p *params) Required(name string) string {
	v := p.v.Get(name)
	if v == "" {
		p.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", memberPath(name))
	}
	return v
}

// Int returns an optional integer and whether it was sent; a value that is
// not an integer is noted and reads as unset.
func (p *params) Int(name string) (int, bool) {
	v, ok := p.v[name]
	if !ok || v[0] == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		p.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", v[0], memberPath(name))
		return 0, false
	}
	return n, true
}

// RequiredInt returns an integer that must be sent.
func (p *params) RequiredInt(name string) int {
	n, ok := p.Int(name)
	if !ok && p.v.Get(name) == "" {
		p.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", memberPath(name))
	}
	return n
}

// Bool returns an optional boolean and whether it was sent.
func (p *params) Bool(name string) (value, set bool) {
	v, ok := p.v[name]
	if !ok {
		return false, false
	}
	switch v[0] {
	case "true":
		return true, true
	case "false", "":
		return false, true
	}
	p.fail("Value '%s' at '%s' failed to satisfy constraint: Member must be a boolean", v[0], memberPath(name))
	return false, false
}

// RequiredBool returns a boolean that must be sent.
func (p *params) RequiredBool(name string) bool {
	b, ok := p.Bool(name)
	if !ok && !p.Has(name) {
		p.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", memberPath(name))
	}
	return b
}

// List reads name.member.1, name.member.2, … (a bare "name=" is the empty
// list).
func (p *params) List(name string) []string {
	members := p.Members(name)
	if len(members) == 0 {
		return nil // not empty: callers tell "none sent" apart
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		out = append(out, p.v.Get(strings.TrimSuffix(m, ".")))
	}
	return out
}

// Members returns the key prefixes "name.member.N." of a list of
// structures, N = 1, 2, … as long as any parameter starts with one; a list
// of scalars is read with List.
func (p *params) Members(name string) []string {
	var out []string
	for i := 1; ; i++ {
		m := name + ".member." + strconv.Itoa(i)
		if !p.Has(m) && !p.HasPrefix(m+".") {
			return out
		}
		out = append(out, m+".")
	}
}

// Err returns every problem noted so far as one ValidationError, nil when
// there is none.
func (p *params) Err() *APIError {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return validationError("1 validation error detected: %s", p.errs[0])
	}
	return validationError("%d validation errors detected: %s", len(p.errs), strings.Join(p.errs, "; "))
}

func validationError(format string, args ...any) *APIError {
	return errf("ValidationError", 400, format, args...)
}

// memberPath writes a parameter name as AWS's validation messages do:
// each segment lowerCamel, list positions dropped
// ("Overrides.member.1.WeightedCapacity" → "overrides.weightedCapacity").
func memberPath(name string) string {
	parts := strings.Split(name, ".")
	out := parts[:0]
	for i := 0; i < len(parts); i++ {
		if parts[i] == "member" && i+1 < len(parts) {
			i++ // and its index
			continue
		}
		out = append(out, lowerFirst(parts[i]))
	}
	return strings.Join(out, ".")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
