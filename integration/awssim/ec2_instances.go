package awssim

import (
	"encoding/xml"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// EC2 instances: RunInstances, TerminateInstances, DescribeInstances.

// ec2StateCodes are the instanceState codes EC2 reports per state name.
var ec2StateCodes = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

// stateReasonMessages are the messages EC2 pairs with StateReason codes.
var stateReasonMessages = map[string]string{
	"Client.UserInitiatedShutdown":        "Client.UserInitiatedShutdown: User initiated shutdown",
	"Server.SpotInstanceTermination":      "Server.SpotInstanceTermination: Spot instance termination",
	"Server.SpotInstanceShutdown":         "Server.SpotInstanceShutdown: Spot instance shutdown",
	"Server.InsufficientInstanceCapacity": "Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy launch request",
	"Server.ScheduledStop":                "Server.ScheduledStop: Stopped due to scheduled retirement",
	"Client.InstanceInitiatedShutdown":    "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
}

type instanceStateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type instanceXML struct {
	InstanceID            string           `xml:"instanceId"`
	ImageID               string           `xml:"imageId"`
	State                 instanceStateXML `xml:"instanceState"`
	PrivateDNSName        string           `xml:"privateDnsName"`
	DNSName               string           `xml:"dnsName"`
	Reason                string           `xml:"reason"`
	KeyName               string           `xml:"keyName,omitempty"`
	AMILaunchIndex        int              `xml:"amiLaunchIndex"`
	InstanceType          string           `xml:"instanceType"`
	LaunchTime            string           `xml:"launchTime"`
	AvailabilityZone      string           `xml:"placement>availabilityZone"`
	Tenancy               string           `xml:"placement>tenancy"`
	Platform              string           `xml:"platform,omitempty"`
	PlatformDetails       string           `xml:"platformDetails"`
	UsageOperation        string           `xml:"usageOperation"`
	Monitoring            string           `xml:"monitoring>state"`
	SubnetID              string           `xml:"subnetId,omitempty"`
	VpcID                 string           `xml:"vpcId,omitempty"`
	PrivateIPAddress      string           `xml:"privateIpAddress,omitempty"`
	IPAddress             string           `xml:"ipAddress,omitempty"`
	Architecture          string           `xml:"architecture"`
	RootDeviceType        string           `xml:"rootDeviceType"`
	RootDeviceName        string           `xml:"rootDeviceName"`
	InstanceLifecycle     string           `xml:"instanceLifecycle,omitempty"`
	SpotInstanceRequestID string           `xml:"spotInstanceRequestId,omitempty"`
	VirtualizationType    string           `xml:"virtualizationType"`
	Hypervisor            string           `xml:"hypervisor"`
	StateReason           *stateReasonXML  `xml:"stateReason,omitempty"`
	Tags                  []ec2Tag         `xml:"tagSet>item"`
}

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

func (s *Sim) instanceXMLLocked(inst *Instance) instanceXML {
	x := instanceXML{
		InstanceID:            inst.ID,
		ImageID:               inst.ImageID,
		State:                 instanceStateXML{ec2StateCodes[inst.State], inst.State},
		KeyName:               inst.KeyName,
		InstanceType:          inst.InstanceType,
		LaunchTime:            ec2Time(inst.LaunchTime),
		AvailabilityZone:      inst.AZ,
		Tenancy:               "default",
		Platform:              inst.Platform,
		PlatformDetails:       "Linux/UNIX",
		UsageOperation:        "RunInstances",
		Monitoring:            "disabled",
		SubnetID:              inst.SubnetID,
		Architecture:          inst.Architecture,
		RootDeviceType:        "ebs",
		RootDeviceName:        "/dev/xvda",
		SpotInstanceRequestID: inst.SpotRequestID,
		VirtualizationType:    "hvm",
		Hypervisor:            "xen",
		Tags:                  ec2TagSet(inst.Tags),
	}
	if inst.Platform == "windows" {
		x.PlatformDetails, x.UsageOperation, x.RootDeviceName = "Windows", "RunInstances:0002", "/dev/sda1"
	}
	if inst.Market == Spot {
		x.InstanceLifecycle = "spot"
	}
	if sub := s.subnetByIDLocked(inst.SubnetID); sub != nil {
		x.VpcID = sub.VPCID
	}
	// Terminated instances lose their addresses, as on EC2.
	if inst.State != "terminated" {
		x.PrivateIPAddress = inst.PrivateIP
		x.IPAddress = inst.PublicIP
		if inst.PrivateIP != "" {
			x.PrivateDNSName = "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-") + ".ec2.internal"
		}
		if inst.PublicIP != "" {
			x.DNSName = "ec2-" + strings.ReplaceAll(inst.PublicIP, ".", "-") + ".compute-1.amazonaws.com"
		}
	}
	if inst.StateReason != "" {
		msg := stateReasonMessages[inst.StateReason]
		if msg == "" {
			msg = inst.StateReason
		}
		x.StateReason = &stateReasonXML{inst.StateReason, msg}
		if inst.StateReason == "Client.UserInitiatedShutdown" {
			x.Reason = "User initiated"
		}
	}
	return x
}

func (s *Sim) reservationLocked(insts []*Instance) reservationXML {
	r := reservationXML{ReservationID: "r-" + strings.TrimPrefix(insts[0].ID, "i-"), OwnerID: s.opts.AccountID}
	for _, inst := range insts {
		r.Instances = append(r.Instances, s.instanceXMLLocked(inst))
	}
	return r
}

var instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// instancesByIDLocked resolves InstanceId.N as EC2 does: any malformed id
// fails first, then every unknown id is reported at once.
func (s *Sim) instancesByIDLocked(ids []string) ([]*Instance, *APIError) {
	var missing []string
	out := make([]*Instance, 0, len(ids))
	for _, id := range ids {
		if !instanceIDRE.MatchString(id) {
			return nil, errf("InvalidInstanceID.Malformed", 400, "Invalid id: %q", id)
		}
	}
	for _, id := range ids {
		inst := s.instances[id]
		if inst == nil {
			missing = append(missing, id)
			continue
		}
		out = append(out, inst)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, errf("InvalidInstanceID.NotFound", 400, "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, errf("InvalidInstanceID.NotFound", 400, "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

func instanceField(inst *Instance, name string) ([]string, bool) {
	if inst == nil {
		inst = &Instance{}
	}
	switch name {
	case "instance-id":
		return []string{inst.ID}, true
	case "instance-state-name":
		return []string{inst.State}, true
	case "instance-state-code":
		return []string{strconv.Itoa(ec2StateCodes[inst.State])}, true
	case "instance-lifecycle":
		if inst.Market == Spot {
			return []string{"spot"}, true
		}
		return nil, true // on-demand instances carry no lifecycle
	case "instance-type":
		return []string{inst.InstanceType}, true
	case "availability-zone":
		return []string{inst.AZ}, true
	case "subnet-id":
		return []string{inst.SubnetID}, true
	case "image-id":
		return []string{inst.ImageID}, true
	case "key-name":
		return []string{inst.KeyName}, true
	case "platform":
		return []string{inst.Platform}, true
	case "architecture":
		return []string{inst.Architecture}, true
	case "private-ip-address":
		return []string{inst.PrivateIP}, true
	case "ip-address":
		return []string{inst.PublicIP}, true
	case "spot-instance-request-id":
		return []string{inst.SpotRequestID}, true
	case "launch-template.launch-template-id", "launch-template.launch-template-name":
		if inst.LaunchTemplate == nil {
			return nil, true
		}
		if name == "launch-template.launch-template-id" {
			return []string{inst.LaunchTemplate.ID}, true
		}
		return []string{inst.LaunchTemplate.Name}, true
	}
	return nil, false
}

func (s *Sim) describeInstances(r *request) (any, *APIError) {
	ids := ec2List(r.Params, "InstanceId")
	if len(ids) > 0 && r.Params.Get("MaxResults") != "" {
		return nil, errf("InvalidParameterCombination", 400, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	var insts []*Instance
	if len(ids) > 0 {
		var apiErr *APIError
		if insts, apiErr = s.instancesByIDLocked(ids); apiErr != nil {
			return nil, apiErr
		}
	} else {
		insts = make([]*Instance, 0, len(s.instances))
		for _, inst := range s.instances {
			insts = append(insts, inst)
		}
	}
	insts, apiErr := ec2ApplyFilters(insts, ec2Filters(r.Params), func(i *Instance) map[string]string { return i.Tags }, instanceField)
	if apiErr != nil {
		return nil, apiErr
	}
	insts, next, apiErr := ec2Page(r.Params, insts, func(i *Instance) string { return i.ID }, 5, 1000)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName      xml.Name         `xml:"result"`
		Reservations []reservationXML `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}{NextToken: next}
	// One reservation per instance: the simulator does not keep launch
	// batches, and clients iterate reservations anyway.
	for _, inst := range insts {
		out.Reservations = append(out.Reservations, s.reservationLocked([]*Instance{inst}))
	}
	return out, nil
}

type instanceStateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  instanceStateXML `xml:"currentState"`
	PreviousState instanceStateXML `xml:"previousState"`
}

func (s *Sim) terminateInstances(r *request) (any, *APIError) {
	ids := ec2List(r.Params, "InstanceId")
	if len(ids) == 0 {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter InstanceId")
	}
	insts, apiErr := s.instancesByIDLocked(ids)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName xml.Name                 `xml:"result"`
		Items   []instanceStateChangeXML `xml:"instancesSet>item"`
	}{}
	for _, inst := range insts {
		prev := inst.State
		if prev != "shutting-down" && prev != "terminated" {
			s.terminateInstanceLocked(inst, "Client.UserInitiatedShutdown")
		}
		cur := inst.State
		out.Items = append(out.Items, instanceStateChangeXML{
			InstanceID:    inst.ID,
			CurrentState:  instanceStateXML{ec2StateCodes[cur], cur},
			PreviousState: instanceStateXML{ec2StateCodes[prev], prev},
		})
	}
	return out, nil
}

// runInstancesLimit is the simulated account's instance limit per call.
const runInstancesLimit = 1000

// runInstances launches standalone instances (no Auto Scaling group).
func (s *Sim) runInstances(r *request) (any, *APIError) {
	p := r.Params
	minCount, err1 := strconv.Atoi(p.Get("MinCount"))
	maxCount, err2 := strconv.Atoi(p.Get("MaxCount"))
	if err1 != nil || err2 != nil {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter MinCount and MaxCount")
	}
	if minCount < 1 || maxCount < minCount {
		return nil, errf("InvalidParameterValue", 400, "Invalid value '%d' for maxCount. Must be greater than or equal to minCount (%d) and at least 1.", maxCount, minCount)
	}
	// The account's instance limit: without one a huge MaxCount (found by
	// fuzzing) would build instances until memory runs out.
	if minCount > runInstancesLimit {
		return nil, errf("InstanceLimitExceeded", 400, "You have requested more instances (%d) than your current instance limit of %d allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.", minCount, runInstancesLimit)
	}
	maxCount = min(maxCount, runInstancesLimit)

	lp := launchParams{Market: OnDemand}
	if p.Get("LaunchTemplate.LaunchTemplateId") != "" || p.Get("LaunchTemplate.LaunchTemplateName") != "" {
		lt, data, apiErr := s.resolveLaunchTemplateLocked(LaunchTemplateSpec{
			ID:      p.Get("LaunchTemplate.LaunchTemplateId"),
			Name:    p.Get("LaunchTemplate.LaunchTemplateName"),
			Version: p.Get("LaunchTemplate.Version"),
		})
		if apiErr != nil {
			return nil, apiErr
		}
		lp.ImageID, lp.InstanceType, lp.KeyName = data.ImageID, data.InstanceType, data.KeyName
		lp.LaunchTemplate = &LaunchTemplateSpec{ID: lt.ID, Name: lt.Name, Version: strconv.Itoa(data.Version)}
	}
	if v := p.Get("ImageId"); v != "" {
		lp.ImageID = v
	}
	if v := p.Get("InstanceType"); v != "" {
		lp.InstanceType = v
	}
	if v := p.Get("KeyName"); v != "" {
		lp.KeyName = v
	}
	if lp.InstanceType == "" {
		lp.InstanceType = "m1.small" // EC2's default
	}
	if p.Get("InstanceMarketOptions.MarketType") == "spot" {
		lp.Market = Spot
	}
	lp.Tags = ec2TagSpecs(p, "TagSpecification", "instance")

	if s.instanceTypes[lp.InstanceType] == nil {
		return nil, errf("InvalidParameterValue", 400, "Invalid value '%s' for InstanceType.", lp.InstanceType)
	}
	if lp.ImageID == "" {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter ImageId")
	}
	if apiErr := s.checkImageLocked(lp.ImageID); apiErr != nil {
		return nil, apiErr
	}
	if it, img := s.instanceTypes[lp.InstanceType], s.imageLocked(lp.ImageID); it.Architecture != img.Architecture {
		return nil, errf("InvalidParameterValue", 400, "The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.", it.Architecture, img.Architecture)
	}
	if lp.KeyName != "" && s.keyPairs[lp.KeyName] == nil {
		return nil, errf("InvalidKeyPair.NotFound", 400, "The key pair '%s' does not exist", lp.KeyName)
	}
	sub, apiErr := s.launchSubnetLocked(p.Get("SubnetId"), p.Get("Placement.AvailabilityZone"))
	if apiErr != nil {
		return nil, apiErr
	}
	lp.SubnetID, lp.AZ = sub.ID, sub.AZ

	count := maxCount
	if capacity := s.poolCapacityLocked(PoolKey{lp.InstanceType, lp.AZ, lp.Market}); capacity >= 0 {
		count = min(count, capacity)
		if count < minCount {
			if lp.Market == Spot {
				return nil, errf("InsufficientInstanceCapacity", 500, "There is no Spot capacity available that matches your request.")
			}
			return nil, errf("InsufficientInstanceCapacity", 500, "We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity.", lp.InstanceType, lp.AZ)
		}
	}

	var insts []*Instance
	for range count {
		inst := s.newInstanceLocked(lp)
		if inst == nil {
			return nil, errf("InternalError", 500, "An internal error has occurred")
		}
		insts = append(insts, inst)
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	return s.reservationLocked(insts), nil
}

// launchSubnetLocked picks the subnet for RunInstances: the given one, else
// the first in the given AZ, else the first default subnet.
func (s *Sim) launchSubnetLocked(subnetID, az string) (*Subnet, *APIError) {
	if subnetID != "" {
		sub := s.subnetByIDLocked(subnetID)
		if sub == nil {
			return nil, errf("InvalidSubnetID.NotFound", 400, "The subnet ID '%s' does not exist", subnetID)
		}
		if az != "" && az != sub.AZ {
			return nil, errf("InvalidParameterCombination", 400, "The specified Availability Zone %s and subnet %s are in different Availability Zones", az, subnetID)
		}
		return sub, nil
	}
	for _, sub := range s.subnets {
		if az == "" || sub.AZ == az {
			return sub, nil
		}
	}
	if az != "" {
		return nil, errf("InvalidParameterValue", 400, "Invalid availability zone: [%s]", az)
	}
	return nil, errf("VPCIdNotSpecified", 400, "No default VPC for this user")
}

func (s *Sim) checkImageLocked(id string) *APIError {
	if !strings.HasPrefix(id, "ami-") {
		return errf("InvalidAMIID.Malformed", 400, "Invalid id: %q (expecting \"ami-...\")", id)
	}
	if s.imageLocked(id) != nil {
		return nil
	}
	return errf("InvalidAMIID.NotFound", 400, "The image id '[%s]' does not exist", id)
}
