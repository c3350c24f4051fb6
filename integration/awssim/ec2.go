package awssim

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EC2 Query protocol helpers shared by the ec2_*.go handlers: request
// parameter decoding (InstanceId.1, Filter.1.Value.1, TagSpecification.1.Tag.1.Key),
// filters with AWS wildcards, pagination tokens and XML value types.

// ec2TimeFormat is how EC2 writes timestamps.
const ec2TimeFormat = "2006-01-02T15:04:05.000Z"

func ec2Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ec2TimeFormat)
}

// ec2List returns the values of prefix.1, prefix.2, … in index order.
func ec2List(p url.Values, prefix string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok || len(vs) == 0 {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil {
			continue // a nested member such as prefix.1.Name
		}
		items = append(items, item{n, vs[0]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// ec2Indexes returns the sorted N of every prefix.N.… key.
func ec2Indexes(p url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// ec2Filter is one Filter.N: a name and the values any of which may match.
type ec2Filter struct {
	Name   string
	Values []string
}

func ec2Filters(p url.Values) []ec2Filter {
	indexes := ec2Indexes(p, "Filter")
	out := make([]ec2Filter, 0, len(indexes))
	for _, n := range indexes {
		prefix := fmt.Sprintf("Filter.%d", n)
		out = append(out, ec2Filter{Name: p.Get(prefix + ".Name"), Values: ec2List(p, prefix+".Value")})
	}
	return out
}

// ec2Match applies one filter value; EC2 filter values accept * and ?.
func ec2Match(pattern, v string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == v
	}
	ok, err := path.Match(strings.ReplaceAll(pattern, "[", "\\["), v)
	return err == nil && ok
}

// matchAny reports whether any filter value matches any of the field's values.
func (f ec2Filter) matchAny(fieldValues ...string) bool {
	for _, v := range fieldValues {
		for _, pat := range f.Values {
			if ec2Match(pat, v) {
				return true
			}
		}
	}
	return false
}

// matchTags handles tag:Key, tag-key and tag-value. ok is false for other
// filter names.
func (f ec2Filter) matchTags(tags map[string]string) (match, ok bool) {
	switch {
	case strings.HasPrefix(f.Name, "tag:"):
		v, has := tags[strings.TrimPrefix(f.Name, "tag:")]
		return has && f.matchAny(v), true
	case f.Name == "tag-key":
		for k := range tags {
			if f.matchAny(k) {
				return true, true
			}
		}
		return false, true
	case f.Name == "tag-value":
		for _, v := range tags {
			if f.matchAny(v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

// ec2FieldFunc returns the values of a filterable field of T; known is false
// when EC2 has no such filter.
type ec2FieldFunc[T any] func(item T, name string) (values []string, known bool)

// ec2ApplyFilters keeps the items matching every filter (AND across filters,
// OR across one filter's values). Unknown names fail as on AWS.
func ec2ApplyFilters[T any](items []T, filters []ec2Filter, tags func(T) map[string]string, field ec2FieldFunc[T]) ([]T, *APIError) {
	var zero T
	for _, f := range filters {
		if f.Name == "" {
			return nil, errf("InvalidParameterValue", 400, "The filter 'null' is invalid")
		}
		if _, isTag := f.matchTags(nil); isTag {
			continue
		}
		if _, known := field(zero, f.Name); !known {
			return nil, errf("InvalidParameterValue", 400, "The filter '%s' is invalid", f.Name)
		}
	}
	out := items[:0:0]
next:
	for _, it := range items {
		for _, f := range filters {
			if m, isTag := f.matchTags(tags(it)); isTag {
				if !m {
					continue next
				}
				continue
			}
			vals, _ := field(it, f.Name)
			if !f.matchAny(vals...) {
				continue next
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// page cuts items (sorted by key) after the NextToken and to MaxResults.
// Tokens are the opaque base64 of the last key returned, so items created
// or removed between pages do not shift the others.
func ec2Page[T any](p url.Values, items []T, key func(T) string, minMax, maxMax int) ([]T, string, *APIError) {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	if tok := p.Get("NextToken"); tok != "" {
		last, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, "", errf("InvalidParameterValue", 400, "Invalid value '%s' for NextToken", tok)
		}
		i := sort.Search(len(items), func(i int) bool { return key(items[i]) > string(last) })
		items = items[i:]
	}
	ms := p.Get("MaxResults")
	if ms == "" {
		return items, "", nil
	}
	n, err := strconv.Atoi(ms)
	if err != nil || n < minMax || n > maxMax {
		return nil, "", errf("InvalidParameterValue", 400, "Value ( %s ) for parameter maxResults is invalid. Expecting a value between %d and %d.", ms, minMax, maxMax)
	}
	if len(items) <= n {
		return items, "", nil
	}
	items = items[:n]
	return items, base64.RawURLEncoding.EncodeToString([]byte(key(items[n-1]))), nil
}

// ec2TagSpecs returns the tags of TagSpecification.N for resourceType.
func ec2TagSpecs(p url.Values, prefix, resourceType string) map[string]string {
	tags := map[string]string{}
	for _, n := range ec2Indexes(p, prefix) {
		spec := fmt.Sprintf("%s.%d", prefix, n)
		if rt := p.Get(spec + ".ResourceType"); rt != "" && rt != resourceType {
			continue
		}
		for _, m := range ec2Indexes(p, spec+".Tag") {
			tag := fmt.Sprintf("%s.Tag.%d", spec, m)
			tags[p.Get(tag+".Key")] = p.Get(tag + ".Value")
		}
	}
	return tags
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func ec2TagSet(tags map[string]string) []ec2Tag {
	out := make([]ec2Tag, 0, len(tags))
	for k, v := range tags {
		out = append(out, ec2Tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ec2ResourceID makes an AWS-looking id: prefix-<17 hex digits>.
func (s *Sim) ec2ResourceID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%017x", prefix, 0x0a1b2c3d4e5f60000+s.seq)
}

// ec2Bool reads an EC2 boolean parameter.
func ec2Bool(p url.Values, name string) bool { return p.Get(name) == "true" }
