package awssim

// CreateOrUpdateTags and DeleteTags on Auto Scaling groups (the only
// taggable Auto Scaling resource). Tags are described with the group.

type asgTagParam struct {
	group     *Group
	key       string
	value     string
	propagate bool
}

// tagParamsLocked reads Tags.member.N.{ResourceId,ResourceType,Key,Value,
// PropagateAtLaunch}, validating all of them before anything changes.
func (s *Sim) tagParamsLocked(r *request) ([]asgTagParam, *APIError) {
	q := newParams(r.Params)
	type tagParam struct {
		key, value, groupName string
		propagate             bool
	}
	members := q.Members("Tags")
	tags := make([]tagParam, 0, len(members))
	for i, m := range members {
		t := tagParam{key: q.Str(m + "Key"), value: q.Str(m + "Value"), groupName: q.Str(m + "ResourceId")}
		if t.key == "" || len(t.key) > 128 {
			q.fail("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length between 1 and 128", t.key, i+1)
		}
		if rt := q.Str(m + "ResourceType"); rt != "auto-scaling-group" {
			q.fail("Value '%s' at 'tags.%d.member.resourceType' failed to satisfy constraint: Member must be auto-scaling-group", rt, i+1)
		}
		t.propagate, _ = q.Bool(m + "PropagateAtLaunch")
		tags = append(tags, t)
	}
	if len(tags) == 0 {
		q.Required("Tags")
	}
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	out := make([]asgTagParam, 0, len(tags))
	for _, t := range tags {
		g := s.groups[t.groupName]
		if g == nil || g.Status != "" {
			return nil, validationError("AutoScalingGroup name not found - null")
		}
		out = append(out, asgTagParam{group: g, key: t.key, value: t.value, propagate: t.propagate})
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
