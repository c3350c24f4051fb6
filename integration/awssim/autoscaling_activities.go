package awssim

import (
	"slices"
	"sort"
)

// Scaling activities as DescribeScalingActivities and the terminate calls return them.

type xmlActivity struct {
	ActivityId           string
	AutoScalingGroupName string
	AutoScalingGroupARN  string `xml:",omitempty"`
	Description          string
	Cause                string
	StartTime            string
	EndTime              string `xml:",omitempty"`
	StatusCode           string
	StatusMessage        string `xml:",omitempty"`
	Progress             int
	Details              string
}

func activityXML(a *Activity) xmlActivity {
	x := xmlActivity{
		ActivityId: a.ID, AutoScalingGroupName: a.GroupName, AutoScalingGroupARN: a.GroupARN, Description: a.Description,
		Cause: a.Cause, StartTime: xmlTime(a.StartTime), StatusCode: a.StatusCode, StatusMessage: a.StatusMessage,
		Progress: a.Progress, Details: a.Details,
	}
	if !a.EndTime.IsZero() {
		x.EndTime = xmlTime(a.EndTime)
	}
	return x
}

type describeActivitiesResult struct {
	Activities []xmlActivity `xml:"Activities>member"`
	NextToken  string        `xml:",omitempty"`
}

func (s *Sim) describeScalingActivities(r *request) (any, *APIError) {
	q := newParams(r.Params)
	pg := pageParams(q, 100, 100)
	ids, groupName := q.List("ActivityIds"), q.Str("AutoScalingGroupName")
	q.Bool("IncludeDeletedGroups") // deleted groups' activities are gone with them
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	after, apiErr := pg.after()
	if apiErr != nil {
		return nil, apiErr
	}
	var list []*Activity
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			if a := s.activities[id]; a != nil && s.groups[a.GroupName] != nil {
				list = append(list, a)
			}
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].StartTime.After(list[j].StartTime) })
	case groupName != "":
		if g := s.groups[groupName]; g != nil {
			list = slices.Clone(g.Activities)
			slices.Reverse(list) // newest first
		}
	default:
		for _, g := range s.groups {
			list = append(list, g.Activities...)
		}
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].StartTime.Equal(list[j].StartTime) {
				return list[i].StartTime.After(list[j].StartTime)
			}
			return list[i].ID < list[j].ID
		})
	}
	page, next, ok := pageAfter(list, after, pg.limit, func(a *Activity) string { return a.ID })
	if !ok {
		return nil, validationError("The token '%s' is invalid.", pg.token)
	}
	out := &describeActivitiesResult{NextToken: next, Activities: make([]xmlActivity, 0, len(page))}
	for _, a := range page {
		out.Activities = append(out.Activities, activityXML(a))
	}
	return out, nil
}
