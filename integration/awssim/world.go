package awssim

import (
	"fmt"
	"strings"
)

// The default world every simulator starts with (and Reset returns to):
// three AZs with one public subnet each, a small image catalogue and an
// instance-type catalogue with prices. Capacity pools are unlimited until a
// test limits them.

// Images in the default catalogue.
const (
	ImageLinuxAMD64   = "ami-0linuxamd64000000" // Linux/UNIX x86_64
	ImageLinuxARM64   = "ami-0linuxarm64000000" // Linux/UNIX arm64
	ImageWindowsAMD64 = "ami-0windowsamd640000" // Windows x86_64
)

// Zone is an Availability Zone.
type Zone struct {
	Name string // us-east-1a
	ID   string // use1-az1
}

// InstanceType is a catalogue entry: architecture and hourly prices (USD).
type InstanceType struct {
	Name          string
	Architecture  string // x86_64, arm64
	VCPUs         int
	MemoryMiB     int
	OnDemandPrice float64 // Linux
	WindowsPrice  float64 // 0 = not offered with Windows
	SpotPrice     float64 // typical Linux spot price; AZs vary around it
}

var defaultInstanceTypes = []InstanceType{
	{"t3.micro", "x86_64", 2, 1024, 0.0104, 0.0196, 0.0035},
	{"t3.small", "x86_64", 2, 2048, 0.0208, 0.0392, 0.0070},
	{"t3.medium", "x86_64", 2, 4096, 0.0416, 0.0600, 0.0140},
	{"t3.large", "x86_64", 2, 8192, 0.0832, 0.1108, 0.0290},
	{"t3a.micro", "x86_64", 2, 1024, 0.0094, 0.0186, 0.0032},
	{"t3a.small", "x86_64", 2, 2048, 0.0188, 0.0372, 0.0065},
	{"t3a.medium", "x86_64", 2, 4096, 0.0376, 0.0560, 0.0130},
	{"m5.large", "x86_64", 2, 8192, 0.0960, 0.1880, 0.0370},
	{"m5.xlarge", "x86_64", 4, 16384, 0.1920, 0.3760, 0.0740},
	{"m5.2xlarge", "x86_64", 8, 32768, 0.3840, 0.7520, 0.1500},
	{"c5.large", "x86_64", 2, 4096, 0.0850, 0.1770, 0.0330},
	{"c5.xlarge", "x86_64", 4, 8192, 0.1700, 0.3540, 0.0660},
	{"m1.small", "x86_64", 1, 1740, 0.0440, 0.0750, 0.0100},
	{"t4g.micro", "arm64", 2, 1024, 0.0084, 0, 0.0025},
	{"t4g.small", "arm64", 2, 2048, 0.0168, 0, 0.0050},
	{"m6g.medium", "arm64", 1, 4096, 0.0385, 0, 0.0150},
	{"m6g.large", "arm64", 2, 8192, 0.0770, 0, 0.0300},
	{"m6g.xlarge", "arm64", 4, 16384, 0.1540, 0, 0.0600},
}

// azSpotFactor spreads spot prices across AZs deterministically, so
// price-aware strategies have something to choose between.
var azSpotFactor = []float64{1.00, 0.96, 1.05, 1.02, 0.98, 1.07}

// initWorldLocked (re)creates every map of the account and the default
// world. Called by Start and Reset.
func (s *Sim) initWorldLocked() {
	s.groups = map[string]*Group{}
	s.instances = map[string]*Instance{}
	s.launchTemplates = map[string]*LaunchTemplate{}
	s.keyPairs = map[string]*KeyPair{}
	s.spotRequests = map[string]*SpotRequest{}
	s.queues = map[string]*Queue{}
	s.pools = map[PoolKey]*Pool{}
	s.counters = map[string]int{}
	s.activities = map[string]*Activity{}
	s.nextIP = 0

	region := s.opts.Region
	s.zones = nil
	s.subnets = nil
	vpc := "vpc-0" + fmt.Sprintf("%016x", 0x51a1)
	for i, letter := range []string{"a", "b", "c"} {
		z := &Zone{Name: region + letter, ID: fmt.Sprintf("%s-az%d", regionShort(region), []int{1, 2, 4}[i])}
		s.zones = append(s.zones, z)
		s.subnets = append(s.subnets, &Subnet{
			ID:                  fmt.Sprintf("subnet-0%016x", i+1),
			AZ:                  z.Name,
			AZID:                z.ID,
			CIDR:                fmt.Sprintf("172.31.%d.0/20", 16*i),
			VPCID:               vpc,
			MapPublicIPOnLaunch: true,
		})
	}
	s.images = []*Image{
		{ID: ImageLinuxAMD64, Name: "al2023-ami-2023.6-kernel-6.1-x86_64", Description: "Amazon Linux 2023 AMI (x86_64)", Architecture: "x86_64"},
		{ID: ImageLinuxARM64, Name: "al2023-ami-2023.6-kernel-6.1-arm64", Description: "Amazon Linux 2023 AMI (arm64)", Architecture: "arm64"},
		{ID: ImageWindowsAMD64, Name: "Windows_Server-2022-English-Full-Base", Description: "Microsoft Windows Server 2022 Full Locale English AMI", Platform: "windows", Architecture: "x86_64"},
	}
	s.instanceTypes = make(map[string]*InstanceType, len(defaultInstanceTypes))
	for i := range defaultInstanceTypes {
		it := defaultInstanceTypes[i]
		s.instanceTypes[it.Name] = &it
	}
}

// regionShort turns us-east-1 into use1, the prefix of AZ IDs.
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 || parts[1] == "" {
		return region
	}
	return parts[0] + parts[1][:1] + parts[2]
}

func (s *Sim) zoneLocked(name string) *Zone {
	for _, z := range s.zones {
		if z.Name == name {
			return z
		}
	}
	return nil
}

func (s *Sim) zoneIndexLocked(name string) int {
	for i, z := range s.zones {
		if z.Name == name {
			return i
		}
	}
	return 0
}

func (s *Sim) imageLocked(id string) *Image {
	for _, img := range s.images {
		if img.ID == id {
			return img
		}
	}
	return nil
}

// subnetInAZLocked returns the first subnet of az.
func (s *Sim) subnetInAZLocked(az string) *Subnet {
	for _, sub := range s.subnets {
		if sub.AZ == az {
			return sub
		}
	}
	return nil
}

func (s *Sim) subnetByIDLocked(id string) *Subnet {
	for _, sub := range s.subnets {
		if sub.ID == id {
			return sub
		}
	}
	return nil
}

// poolCapacityLocked is the number of instances pool k can still launch;
// -1 = unlimited.
func (s *Sim) poolCapacityLocked(k PoolKey) int {
	if p := s.pools[k]; p != nil {
		return p.Capacity
	}
	return -1
}

// takePoolLocked consumes one slot of a limited pool.
func (s *Sim) takePoolLocked(k PoolKey) {
	if p := s.pools[k]; p != nil && p.Capacity > 0 {
		p.Capacity--
	}
}

// returnPoolLocked gives a slot back when an instance ends voluntarily;
// reclaimed (interrupted) capacity is not returned — AWS took it.
func (s *Sim) returnPoolLocked(k PoolKey) {
	if p := s.pools[k]; p != nil && p.Capacity >= 0 {
		p.Capacity++
	}
}

// spotPriceLocked is the current spot price of a pool.
func (s *Sim) spotPriceLocked(instanceType, az string) float64 {
	if p := s.pools[PoolKey{instanceType, az, Spot}]; p != nil && p.SpotPrice > 0 {
		return p.SpotPrice
	}
	it := s.instanceTypes[instanceType]
	if it == nil {
		return 0
	}
	return it.SpotPrice * azSpotFactor[s.zoneIndexLocked(az)%len(azSpotFactor)]
}

// onDemandPriceLocked is the hourly on-demand price for a platform.
func (s *Sim) onDemandPriceLocked(instanceType, platform string) float64 {
	it := s.instanceTypes[instanceType]
	if it == nil {
		return 0
	}
	if platform == "windows" && it.WindowsPrice > 0 {
		return it.WindowsPrice
	}
	return it.OnDemandPrice
}

// SetPoolCapacity sets how many more instances of instanceType the pool
// (az, market) can launch; n < 0 makes it unlimited (the default).
// Voluntary terminations give their slot back; spot interruptions do not.
// az "" applies to every AZ.
func (s *Sim) SetPoolCapacity(instanceType, az string, m Market, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zones {
		if az != "" && z.Name != az {
			continue
		}
		k := PoolKey{instanceType, z.Name, m}
		p := s.pools[k]
		if p == nil {
			p = &Pool{}
			s.pools[k] = p
		}
		p.Capacity = n
		if n < 0 {
			p.Capacity = -1
		}
	}
}

// SetSpotPrice sets the spot price (USD/hour) of a pool; az "" applies to
// every AZ. A price above a group's SpotMaxPrice (default: the on-demand
// price) makes the pool unusable for that group.
func (s *Sim) SetSpotPrice(instanceType, az string, usd float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zones {
		if az != "" && z.Name != az {
			continue
		}
		k := PoolKey{instanceType, z.Name, Spot}
		p := s.pools[k]
		if p == nil {
			p = &Pool{Capacity: -1}
			s.pools[k] = p
		}
		p.SpotPrice = usd
	}
}
