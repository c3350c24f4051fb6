package awssim

import (
	"encoding/xml"
	"strconv"
	"strings"
)

// DescribeInstanceTypes over the world's instance-type catalogue.

type instanceTypeXML struct {
	InstanceType          string   `xml:"instanceType"`
	CurrentGeneration     bool     `xml:"currentGeneration"`
	SupportedUsageClasses []string `xml:"supportedUsageClasses>item"`
	Architectures         []string `xml:"processorInfo>supportedArchitectures>item"`
	DefaultVCPUs          int      `xml:"vCpuInfo>defaultVCpus"`
	MemoryMiB             int      `xml:"memoryInfo>sizeInMiB"`
	Burstable             bool     `xml:"burstablePerformanceSupported"`
	Hypervisor            string   `xml:"hypervisor"`
}

func instanceTypeField(it *InstanceType, name string) ([]string, bool) {
	if it == nil {
		it = &InstanceType{}
	}
	switch name {
	case "instance-type":
		return []string{it.Name}, true
	case "processor-info.supported-architecture":
		return []string{it.Architecture}, true
	case "vcpu-info.default-vcpus":
		return []string{strconv.Itoa(it.VCPUs)}, true
	case "memory-info.size-in-mib":
		return []string{strconv.Itoa(it.MemoryMiB)}, true
	case "supported-usage-class":
		return []string{"on-demand", "spot"}, true
	case "current-generation":
		return []string{strconv.FormatBool(it.Name != "m1.small")}, true
	}
	return nil, false
}

func (s *Sim) describeInstanceTypes(r *request) (any, *APIError) {
	var its []*InstanceType
	if names := ec2List(r.Params, "InstanceType"); len(names) > 0 {
		for _, n := range names {
			it := s.instanceTypes[n]
			if it == nil {
				return nil, errf("InvalidInstanceType", 400, "The following supplied instance types do not exist: [%s]", n)
			}
			its = append(its, it)
		}
	} else {
		for _, it := range s.instanceTypes {
			its = append(its, it)
		}
	}
	its, apiErr := ec2ApplyFilters(its, ec2Filters(r.Params), func(*InstanceType) map[string]string { return nil }, instanceTypeField)
	if apiErr != nil {
		return nil, apiErr
	}
	its, next, apiErr := ec2Page(r.Params, its, func(it *InstanceType) string { return it.Name }, 5, 100)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name          `xml:"result"`
		Items     []instanceTypeXML `xml:"instanceTypeSet>item"`
		NextToken string            `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, it := range its {
		out.Items = append(out.Items, instanceTypeXML{
			InstanceType: it.Name, CurrentGeneration: it.Name != "m1.small", SupportedUsageClasses: []string{"on-demand", "spot"},
			Architectures: []string{it.Architecture}, DefaultVCPUs: it.VCPUs, MemoryMiB: it.MemoryMiB,
			Burstable: strings.HasPrefix(it.Name, "t"), Hypervisor: "nitro",
		})
	}
	return out, nil
}
