package awssim

import "fmt"

// CreateOrUpdateTags and DeleteTags on Auto Scaling groups (the only
// taggable Auto Scaling resource). Tags are described with the group.

func init() {
	register(svcAutoScaling, "CreateOrUpdateTags", (*Sim).asgCreateOrUpdateTags)
	register(svcAutoScaling, "DeleteTags", (*Sim).asgDeleteTags)
}

type asgTagParam struct {
	group     *Group
	key       string
	value     string
	propagate bool
}

// tagParamsLocked reads Tags.member.N.{ResourceId,ResourceType,Key,Value,
// PropagateAtLaunch}, validating all of them before anything changes.
func (s *Sim) tagParamsLocked(r *request) ([]asgTagParam, *APIError) {
	var out []asgTagParam
	for i := 1; ; i++ {
		tp := fmt.Sprintf("Tags.member.%d.", i)
		key, ok := r.Params[tp+"Key"]
		if !ok {
			break
		}
		if key[0] == "" || len(key[0]) > 128 {
			return nil, validationError("1 validation error detected: Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length between 1 and 128", key[0], i)
		}
		if t := r.Params.Get(tp + "ResourceType"); t != "auto-scaling-group" {
			return nil, validationError("1 validation error detected: Value '%s' at 'tags.%d.member.resourceType' failed to satisfy constraint: Member must be auto-scaling-group", t, i)
		}
		id := r.Params.Get(tp + "ResourceId")
		g := s.groups[id]
		if g == nil || g.Status != "" {
			return nil, validationError("AutoScalingGroup name not found - null")
		}
		propagate, _ := qBool(r.Params, tp+"PropagateAtLaunch")
		out = append(out, asgTagParam{group: g, key: key[0], value: r.Params.Get(tp + "Value"), propagate: propagate})
	}
	if len(out) == 0 {
		return nil, validationError("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return out, nil
}

func (s *Sim) asgCreateOrUpdateTags(r *request) (any, *APIError) {
	tags, apiErr := s.tagParamsLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	for _, t := range tags {
		if _, exists := t.group.Tags[t.key]; !exists && len(t.group.Tags) >= 50 {
			return nil, errf("LimitExceeded", 400, "The number of tags for the group %s would exceed the limit of 50.", t.group.Name)
		}
	}
	for _, t := range tags {
		t.group.Tags[t.key] = t.value
		t.group.PropagateAtLaunch[t.key] = t.propagate
	}
	return nil, nil
}

func (s *Sim) asgDeleteTags(r *request) (any, *APIError) {
	tags, apiErr := s.tagParamsLocked(r)
	if apiErr != nil {
		return nil, apiErr
	}
	for _, t := range tags {
		delete(t.group.Tags, t.key)
		delete(t.group.PropagateAtLaunch, t.key)
	}
	return nil, nil
}
