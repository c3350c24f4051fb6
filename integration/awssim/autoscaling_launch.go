package awssim

import "fmt"

// LaunchInstances, the synchronous launch.

type xmlInstanceCollection struct {
	InstanceType       string
	MarketType         string
	SubnetId           string
	AvailabilityZone   string
	AvailabilityZoneId string
	InstanceIds        []string `xml:"InstanceIds>member"`
}

type xmlLaunchError struct {
	InstanceType       string `xml:",omitempty"`
	MarketType         string `xml:",omitempty"`
	SubnetId           string `xml:",omitempty"`
	AvailabilityZone   string `xml:",omitempty"`
	AvailabilityZoneId string `xml:",omitempty"`
	ErrorCode          string
	ErrorMessage       string
}

type launchInstancesResult struct {
	AutoScalingGroupName string
	ClientToken          string
	Instances            []xmlInstanceCollection `xml:"Instances>member"`
	Errors               []xmlLaunchError        `xml:"Errors>member"`
}

// launchInstances launches synchronously in one AZ following the group's
// policy and raises desired capacity by what it launched (by the whole
// request with RetryStrategy retry-with-group-configuration, so the group
// retries the rest).
func (s *Sim) launchInstances(r *request) (any, *APIError) {
	q := newParams(r.Params)
	groupName := q.Required("AutoScalingGroupName")
	token := q.Required("ClientToken")
	requested := q.RequiredInt("RequestedCapacity")
	if q.Has("RequestedCapacity") && (requested < 1 || requested > 100) {
		q.fail("Value '%d' at 'requestedCapacity' failed to satisfy constraint: Member must have value between 1 and 100", requested)
	}
	retry := cmpOr(q.Str("RetryStrategy"), "none")
	azs, subnets, zoneIDs := q.List("AvailabilityZones"), q.List("SubnetIds"), q.List("AvailabilityZoneIds")
	if apiErr := q.Err(); apiErr != nil {
		return nil, apiErr
	}
	g, apiErr := s.groupLocked(groupName)
	if apiErr != nil {
		return nil, apiErr
	}
	if prev, ok := g.launchTokens[token]; ok {
		return prev, nil
	}
	if retry != "none" && retry != "retry-with-group-configuration" {
		return nil, validationError("Valid values for RetryStrategy are: none, retry-with-group-configuration.")
	}

	for _, id := range zoneIDs {
		for _, z := range s.zones {
			if z.ID == id {
				azs = append(azs, z.Name)
			}
		}
	}
	var az string
	switch {
	case len(azs)+len(subnets) > 1 && !(len(subnets) == 1 && len(azs) == 0):
		return nil, validationError("Only one Availability Zone or subnet can be specified per LaunchInstances request.")
	case len(subnets) == 1:
		sub := s.subnetByIDLocked(subnets[0])
		if sub == nil || !contains(g.SubnetIDs, sub.ID) && len(g.SubnetIDs) > 0 {
			return nil, validationError("The subnet ID '%s' is not part of the Auto Scaling group %s.", subnets[0], g.Name)
		}
		az = sub.AZ
	case len(azs) == 1:
		az = azs[0]
	case len(g.AvailabilityZones) == 1:
		az = g.AvailabilityZones[0]
	default:
		return nil, validationError("An Availability Zone or subnet is required for Auto Scaling groups with multiple Availability Zones.")
	}
	if !contains(g.AvailabilityZones, az) {
		return nil, validationError("The Availability Zone %s is not enabled for the Auto Scaling group %s.", az, g.Name)
	}

	st := s.groupStatsLocked(g)
	if g.Desired+requested > g.MaxSize {
		return nil, validationError("New SetDesiredCapacity value %d is above max value %d", g.Desired+requested, g.MaxSize)
	}
	target := g.Desired + requested
	now := s.clock.Now()
	cause := fmt.Sprintf("At %s an instance was started in response to a LaunchInstances request, increasing the capacity from %d to %d.", asgTime(now), g.Desired, target)
	out := &launchInstancesResult{AutoScalingGroupName: g.Name, ClientToken: token}
	type key struct {
		typ    string
		market Market
	}
	collections := map[key]int{}
	launched := 0
	var fail *launchFailure
	for launched < requested {
		c, f := s.choosePoolLocked(g, st, az, target)
		if f != nil {
			fail = f
			break
		}
		inst := s.launchGroupInstanceLocked(g, c, cause)
		st.add(inst)
		launched += max(c.Weight, 1)
		k := key{inst.InstanceType, inst.Market}
		i, ok := collections[k]
		if !ok {
			i = len(out.Instances)
			collections[k] = i
			zoneID := ""
			if z := s.zoneLocked(az); z != nil {
				zoneID = z.ID
			}
			out.Instances = append(out.Instances, xmlInstanceCollection{InstanceType: inst.InstanceType, MarketType: string(inst.Market),
				SubnetId: inst.SubnetID, AvailabilityZone: az, AvailabilityZoneId: zoneID})
		}
		out.Instances[i].InstanceIds = append(out.Instances[i].InstanceIds, inst.ID)
	}
	if fail != nil {
		zoneID := ""
		if z := s.zoneLocked(az); z != nil {
			zoneID = z.ID
		}
		out.Errors = append(out.Errors, xmlLaunchError{InstanceType: fail.InstanceType, MarketType: string(fail.Market),
			SubnetId: cmpOr(fail.SubnetID, s.groupSubnetLocked(g, az)), AvailabilityZone: az, AvailabilityZoneId: zoneID,
			ErrorCode: fail.Code, ErrorMessage: fail.Message})
	}
	if retry == "retry-with-group-configuration" {
		g.Desired = target
	} else {
		g.Desired = min(g.Desired+launched, g.MaxSize)
	}
	g.launchTokens[token] = out
	return out, nil
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
