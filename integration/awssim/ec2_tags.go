package awssim

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// CreateTags / DeleteTags on instances (the only taggable resource the
// simulator keeps tags for; other ids are accepted if they exist).

type ec2TagParam struct {
	Key, Value string
	HasValue   bool
}

func tagParams(r *request) []ec2TagParam {
	indexes := ec2Indexes(r.Params, "Tag")
	out := make([]ec2TagParam, 0, len(indexes))
	for _, n := range indexes {
		prefix := fmt.Sprintf("Tag.%d", n)
		v, has := r.Params[prefix+".Value"]
		t := ec2TagParam{Key: r.Params.Get(prefix + ".Key"), HasValue: has}
		if has {
			t.Value = v[0]
		}
		out = append(out, t)
	}
	return out
}

// taggedInstancesLocked resolves ResourceId.N; ids of other resource types
// are checked for existence only.
func (s *Sim) taggedInstancesLocked(r *request) ([]*Instance, *APIError) {
	ids := ec2List(r.Params, "ResourceId")
	if len(ids) == 0 {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter resourceIdSet")
	}
	var instIDs []string
	for _, id := range ids {
		switch {
		case strings.HasPrefix(id, "i-"):
			instIDs = append(instIDs, id)
		case strings.HasPrefix(id, "lt-"):
			if s.launchTemplates[id] == nil {
				return nil, errf("InvalidLaunchTemplateId.NotFound", 400, "The specified launch template, with template ID %s, does not exist.", id)
			}
		default:
			return nil, errf("InvalidID", 400, "The ID '%s' is not valid", id)
		}
	}
	return s.instancesByIDLocked(instIDs)
}

func (s *Sim) createTags(r *request) (any, *APIError) {
	insts, apiErr := s.taggedInstancesLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	tags := tagParams(r)
	for _, t := range tags {
		if strings.HasPrefix(t.Key, "aws:") {
			return nil, errf("InvalidParameterValue", 400, "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	for _, inst := range insts {
		if inst.Tags == nil {
			inst.Tags = map[string]string{}
		}
		for _, t := range tags {
			inst.Tags[t.Key] = t.Value
		}
	}
	return struct {
		XMLName xml.Name `xml:"result"`
		Return  bool     `xml:"return"`
	}{Return: true}, nil
}

// deleteTags removes the keys given (only when the value matches, if one
// is given); no tags at all removes every user tag, as on EC2.
func (s *Sim) deleteTags(r *request) (any, *APIError) {
	insts, apiErr := s.taggedInstancesLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	tags := tagParams(r)
	for _, inst := range insts {
		if len(tags) == 0 {
			for k := range inst.Tags {
				if !strings.HasPrefix(k, "aws:") {
					delete(inst.Tags, k)
				}
			}
		}
		for _, t := range tags {
			if v, ok := inst.Tags[t.Key]; ok && (!t.HasValue || v == t.Value) {
				delete(inst.Tags, t.Key)
			}
		}
	}
	return struct {
		XMLName xml.Name `xml:"result"`
		Return  bool     `xml:"return"`
	}{Return: true}, nil
}
