package awssim

import "encoding/xml"

// DescribeSpotInstanceRequests: the one-time requests behind spot instances,
// whose status codes announce interruptions (marked-for-termination).

type spotRequestXML struct {
	ID                       string `xml:"spotInstanceRequestId"`
	SpotPrice                string `xml:"spotPrice,omitempty"`
	Type                     string `xml:"type"`
	State                    string `xml:"state"`
	StatusCode               string `xml:"status>code"`
	StatusMessage            string `xml:"status>message"`
	StatusUpdateTime         string `xml:"status>updateTime"`
	InstanceType             string `xml:"launchSpecification>instanceType"`
	InstanceID               string `xml:"instanceId,omitempty"`
	CreateTime               string `xml:"createTime"`
	ProductDescription       string `xml:"productDescription"`
	LaunchedAvailabilityZone string `xml:"launchedAvailabilityZone,omitempty"`
	InterruptionBehavior     string `xml:"instanceInterruptionBehavior"`
}

func spotRequestField(sr *SpotRequest, name string) ([]string, bool) {
	if sr == nil {
		sr = &SpotRequest{}
	}
	switch name {
	case "instance-id":
		return []string{sr.InstanceID}, true
	case "spot-instance-request-id":
		return []string{sr.ID}, true
	case "state":
		return []string{sr.State}, true
	case "status-code":
		return []string{sr.StatusCode}, true
	case "status-message":
		return []string{sr.StatusMessage}, true
	case "launch.instance-type":
		return []string{sr.InstanceType}, true
	case "launched-availability-zone":
		return []string{sr.AZ}, true
	case "type":
		return []string{"one-time"}, true
	}
	return nil, false
}

func (s *Sim) describeSpotInstanceRequests(r *request) (any, *APIError) {
	var srs []*SpotRequest
	if ids := ec2List(r.Params, "SpotInstanceRequestId"); len(ids) > 0 {
		for _, id := range ids {
			sr := s.spotRequests[id]
			if sr == nil {
				return nil, errf("InvalidSpotInstanceRequestID.NotFound", 400, "The spot instance request ID '%s' does not exist", id)
			}
			srs = append(srs, sr)
		}
	} else {
		srs = make([]*SpotRequest, 0, len(s.spotRequests))
		for _, sr := range s.spotRequests {
			srs = append(srs, sr)
		}
	}
	srs, apiErr := ec2ApplyFilters(srs, ec2Filters(r.Params), func(sr *SpotRequest) map[string]string {
		if inst := s.instances[sr.InstanceID]; inst != nil {
			return inst.Tags
		}
		return nil
	}, spotRequestField)
	if apiErr != nil {
		return nil, apiErr
	}
	srs, next, apiErr := ec2Page(r.Params, srs, func(sr *SpotRequest) string { return sr.ID }, 5, 1000)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name         `xml:"result"`
		Items     []spotRequestXML `xml:"spotInstanceRequestSet>item"`
		NextToken string           `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, sr := range srs {
		x := spotRequestXML{
			ID: sr.ID, Type: "one-time", State: sr.State,
			StatusCode: sr.StatusCode, StatusMessage: sr.StatusMessage, StatusUpdateTime: ec2Time(sr.UpdateTime),
			InstanceType: sr.InstanceType, InstanceID: sr.InstanceID, CreateTime: ec2Time(sr.CreateTime),
			ProductDescription: "Linux/UNIX", LaunchedAvailabilityZone: sr.AZ, InterruptionBehavior: "terminate",
		}
		if inst := s.instances[sr.InstanceID]; inst != nil && inst.Platform == "windows" {
			x.ProductDescription = "Windows"
		}
		if price := s.spotPriceLocked(sr.InstanceType, sr.AZ); price > 0 {
			x.SpotPrice = formatPrice(price)
		}
		out.Items = append(out.Items, x)
	}
	return out, nil
}
