package awssim

import (
	"encoding/xml"
	"sort"
	"strconv"
)

// The fixed parts of the simulated region: subnets, Availability Zones and
// the image catalogue (filled by the world defaults).

func formatPrice(p float64) string { return strconv.FormatFloat(p, 'f', 6, 64) }

type subnetXML struct {
	ID                  string `xml:"subnetId"`
	ARN                 string `xml:"subnetArn"`
	State               string `xml:"state"`
	VpcID               string `xml:"vpcId"`
	OwnerID             string `xml:"ownerId"`
	CIDR                string `xml:"cidrBlock"`
	AvailableIPs        int    `xml:"availableIpAddressCount"`
	AZ                  string `xml:"availabilityZone"`
	AZID                string `xml:"availabilityZoneId"`
	DefaultForAZ        bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch bool   `xml:"mapPublicIpOnLaunch"`
}

func (s *Sim) describeSubnets(r *request) (any, *APIError) {
	var subs []*Subnet
	if ids := ec2List(r.Params, "SubnetId"); len(ids) > 0 {
		for _, id := range ids {
			sub := s.subnetByIDLocked(id)
			if sub == nil {
				return nil, errf("InvalidSubnetID.NotFound", 400, "The subnet ID '%s' does not exist", id)
			}
			subs = append(subs, sub)
		}
	} else {
		subs = append(subs, s.subnets...)
	}
	subs, apiErr := ec2ApplyFilters(subs, ec2Filters(r.Params), func(*Subnet) map[string]string { return nil },
		func(sub *Subnet, name string) ([]string, bool) {
			if sub == nil {
				sub = &Subnet{}
			}
			switch name {
			case "subnet-id":
				return []string{sub.ID}, true
			case "availability-zone":
				return []string{sub.AZ}, true
			case "availability-zone-id":
				return []string{sub.AZID}, true
			case "vpc-id":
				return []string{sub.VPCID}, true
			case "cidr-block":
				return []string{sub.CIDR}, true
			case "state":
				return []string{"available"}, true
			case "map-public-ip-on-launch":
				return []string{strconv.FormatBool(sub.MapPublicIPOnLaunch)}, true
			}
			return nil, false
		})
	if apiErr != nil {
		return nil, apiErr
	}
	subs, next, apiErr := ec2Page(r.Params, subs, func(sub *Subnet) string { return sub.ID }, 5, 1000)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name    `xml:"result"`
		Items     []subnetXML `xml:"subnetSet>item"`
		NextToken string      `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, sub := range subs {
		out.Items = append(out.Items, subnetXML{
			ID: sub.ID, ARN: "arn:aws:ec2:" + s.opts.Region + ":" + s.opts.AccountID + ":subnet/" + sub.ID,
			State: "available", VpcID: sub.VPCID, OwnerID: s.opts.AccountID, CIDR: sub.CIDR, AvailableIPs: 4091,
			AZ: sub.AZ, AZID: sub.AZID, DefaultForAZ: true, MapPublicIPOnLaunch: sub.MapPublicIPOnLaunch,
		})
	}
	return out, nil
}

type availabilityZoneXML struct {
	ZoneName           string `xml:"zoneName"`
	ZoneID             string `xml:"zoneId"`
	State              string `xml:"zoneState"`
	RegionName         string `xml:"regionName"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	OptInStatus        string `xml:"optInStatus"`
	ZoneType           string `xml:"zoneType"`
}

// describeAvailabilityZones lists the region's zones.
func (s *Sim) describeAvailabilityZones(r *request) (any, *APIError) {
	seen := map[string]bool{}
	zones := make([]availabilityZoneXML, 0, len(s.zones))
	for _, z := range s.zones {
		seen[z.Name] = true
		zones = append(zones, availabilityZoneXML{
			ZoneName: z.Name, ZoneID: z.ID, State: "available", RegionName: s.opts.Region,
			GroupName: s.opts.Region, NetworkBorderGroup: s.opts.Region, OptInStatus: "opt-in-not-required", ZoneType: "availability-zone",
		})
	}
	sort.Slice(zones, func(i, j int) bool { return zones[i].ZoneName < zones[j].ZoneName })
	names, ids := ec2List(r.Params, "ZoneName"), ec2List(r.Params, "ZoneId")
	for _, n := range names {
		if !seen[n] {
			return nil, errf("InvalidParameterValue", 400, "Invalid availability zone: [%s]", n)
		}
	}
	filters := ec2Filters(r.Params)
	if len(names) > 0 {
		filters = append(filters, ec2Filter{Name: "zone-name", Values: names})
	}
	if len(ids) > 0 {
		filters = append(filters, ec2Filter{Name: "zone-id", Values: ids})
	}
	zones, apiErr := ec2ApplyFilters(zones, filters, func(availabilityZoneXML) map[string]string { return nil },
		func(z availabilityZoneXML, name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z.ZoneName}, true
			case "zone-id":
				return []string{z.ZoneID}, true
			case "state":
				return []string{z.State}, true
			case "region-name":
				return []string{z.RegionName}, true
			case "zone-type":
				return []string{z.ZoneType}, true
			}
			return nil, false
		})
	if apiErr != nil {
		return nil, apiErr
	}
	return struct {
		XMLName xml.Name              `xml:"result"`
		Items   []availabilityZoneXML `xml:"availabilityZoneInfo>item"`
	}{xml.Name{}, zones}, nil
}

type imageXML struct {
	ID                 string `xml:"imageId"`
	Location           string `xml:"imageLocation"`
	State              string `xml:"imageState"`
	OwnerID            string `xml:"imageOwnerId"`
	OwnerAlias         string `xml:"imageOwnerAlias"`
	CreationDate       string `xml:"creationDate"`
	Public             bool   `xml:"isPublic"`
	Architecture       string `xml:"architecture"`
	ImageType          string `xml:"imageType"`
	Platform           string `xml:"platform,omitempty"`
	PlatformDetails    string `xml:"platformDetails"`
	UsageOperation     string `xml:"usageOperation"`
	Name               string `xml:"name"`
	Description        string `xml:"description"`
	RootDeviceType     string `xml:"rootDeviceType"`
	RootDeviceName     string `xml:"rootDeviceName"`
	VirtualizationType string `xml:"virtualizationType"`
	Hypervisor         string `xml:"hypervisor"`
	EnaSupport         bool   `xml:"enaSupport"`
}

// amazonOwnerID owns the catalogue images, as Amazon's public AMIs.
const amazonOwnerID = "137112412989"

func imageField(img *Image, name string) ([]string, bool) {
	if img == nil {
		img = &Image{}
	}
	switch name {
	case "image-id":
		return []string{img.ID}, true
	case "name":
		return []string{img.Name}, true
	case "description":
		return []string{img.Description}, true
	case "platform":
		return []string{img.Platform}, true
	case "architecture":
		return []string{img.Architecture}, true
	case "state":
		return []string{"available"}, true
	case "owner-id":
		return []string{amazonOwnerID}, true
	case "owner-alias":
		return []string{"amazon"}, true
	case "is-public":
		return []string{"true"}, true
	case "image-type":
		return []string{"machine"}, true
	case "root-device-type":
		return []string{"ebs"}, true
	case "virtualization-type":
		return []string{"hvm"}, true
	}
	return nil, false
}

func (s *Sim) describeImages(r *request) (any, *APIError) {
	var imgs []*Image
	if ids := ec2List(r.Params, "ImageId"); len(ids) > 0 {
		for _, id := range ids {
			if apiErr := s.checkImageLocked(id); apiErr != nil {
				return nil, apiErr
			}
			for _, img := range s.images {
				if img.ID == id {
					imgs = append(imgs, img)
				}
			}
		}
	} else {
		imgs = append(imgs, s.images...)
	}
	// Owners: the catalogue is Amazon's; "self" or our account own nothing.
	if owners := ec2List(r.Params, "Owner"); len(owners) > 0 {
		amazon := false
		for _, o := range owners {
			amazon = amazon || o == "amazon" || o == amazonOwnerID
		}
		if !amazon {
			imgs = nil
		}
	}
	imgs, apiErr := ec2ApplyFilters(imgs, ec2Filters(r.Params), func(*Image) map[string]string { return nil }, imageField)
	if apiErr != nil {
		return nil, apiErr
	}
	imgs, next, apiErr := ec2Page(r.Params, imgs, func(img *Image) string { return img.ID }, 5, 1000)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name   `xml:"result"`
		Items     []imageXML `xml:"imagesSet>item"`
		NextToken string     `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, img := range imgs {
		x := imageXML{
			ID: img.ID, Location: "amazon/" + img.Name, State: "available", OwnerID: amazonOwnerID, OwnerAlias: "amazon",
			CreationDate: "2026-01-01T00:00:00.000Z", Public: true, Architecture: img.Architecture, ImageType: "machine",
			Platform: img.Platform, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
			Name: img.Name, Description: img.Description, RootDeviceType: "ebs", RootDeviceName: "/dev/xvda",
			VirtualizationType: "hvm", Hypervisor: "xen", EnaSupport: true,
		}
		if img.Platform == "windows" {
			x.PlatformDetails, x.UsageOperation, x.RootDeviceName = "Windows", "RunInstances:0002", "/dev/sda1"
		}
		out.Items = append(out.Items, x)
	}
	return out, nil
}
