package admin

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Spec is the group setup asks for.
type Spec struct {
	Name           string   // Auto Scaling group
	LaunchTemplate string   // template name; default = Name
	ImageID        string   // AMI
	InstanceTypes  []string // overrides, in priority order
	Subnets        []string
	SecurityGroups []string
	KeyName        string
	// InstanceProfile is an IAM instance profile name or ARN.
	InstanceProfile string
	UserData        []byte // raw; base64-encoded for EC2

	OnDemandBase           int
	OnDemandPercentage     int // above base; 0 = all spot
	SpotAllocationStrategy string
	MaxSize                int

	// InterruptionQueue is an SQS queue name; "" = no queue and no rules.
	InterruptionQueue string
	Tags              map[string]string

	// ReadyHook adds the launch lifecycle hook of ready_when =
	// "lifecycle-hook" (plan_readyhook.go), with this heartbeat timeout.
	ReadyHook        bool
	ReadyHookTimeout time.Duration
}

// Defaults filled by (*Spec).applyDefaults.
const (
	DefaultSpotAllocationStrategy = "price-capacity-optimized"
	// ManagedTag marks what setup created; its value is the tool name.
	ManagedTag = "managed-by"
	toolName   = "fleeting-plugin-ec2spot"
)

var (
	groupNameRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
	ltNameRE    = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)
	amiRE       = regexp.MustCompile(`^ami-[0-9a-zA-Z]{8,32}$`)
	subnetRE    = regexp.MustCompile(`^subnet-[0-9a-zA-Z]{8,32}$`)
	sgRE        = regexp.MustCompile(`^sg-[0-9a-zA-Z]{8,32}$`)
	queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
)

var spotStrategies = []string{"price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"}

func (s *Spec) applyDefaults() {
	if s.LaunchTemplate == "" {
		s.LaunchTemplate = s.Name
	}
	if s.SpotAllocationStrategy == "" {
		s.SpotAllocationStrategy = DefaultSpotAllocationStrategy
	}
	if s.Tags == nil {
		s.Tags = map[string]string{}
	}
	if _, ok := s.Tags[ManagedTag]; !ok {
		s.Tags[ManagedTag] = toolName
	}
	if s.ReadyHook && s.ReadyHookTimeout == 0 {
		s.ReadyHookTimeout = ec2spot.DefaultReadyHookTimeout
	}
}

// Validate reports every problem at once, each naming its flag.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{flag}, args...)...))
	}
	if !groupNameRE.MatchString(s.Name) || strings.Contains(s.Name, ":") {
		bad("name", "want the Auto Scaling group name (1-255 printable characters, no colon)")
	}
	if s.LaunchTemplate != "" && !ltNameRE.MatchString(s.LaunchTemplate) {
		bad("launch-template", "%q: 3-128 letters, digits and ().-/_ (the default is the group name)", s.LaunchTemplate)
	}
	if !amiRE.MatchString(s.ImageID) {
		bad("ami", "want an AMI id (ami-…), got %q", s.ImageID)
	}
	if len(s.InstanceTypes) == 0 {
		bad("instance-types", "name at least one instance type; several types across families make spot capacity shortages rare")
	}
	if dup := duplicates(s.InstanceTypes); len(dup) > 0 {
		bad("instance-types", "listed twice: %s", strings.Join(dup, ", "))
	}
	if len(s.Subnets) == 0 {
		bad("subnets", "name at least one subnet (one per availability zone is best)")
	}
	for _, id := range s.Subnets {
		if !subnetRE.MatchString(id) {
			bad("subnets", "%q is not a subnet id", id)
		}
	}
	for _, id := range s.SecurityGroups {
		if !sgRE.MatchString(id) {
			bad("security-groups", "%q is not a security group id", id)
		}
	}
	if s.OnDemandBase < 0 {
		bad("on-demand-base", "must be 0 or more")
	}
	if s.OnDemandPercentage < 0 || s.OnDemandPercentage > 100 {
		bad("on-demand-percentage", "must be between 0 and 100")
	}
	if !contains(spotStrategies, s.SpotAllocationStrategy) {
		bad("spot-allocation-strategy", "%q: want one of %s", s.SpotAllocationStrategy, strings.Join(spotStrategies, ", "))
	}
	if s.MaxSize < 1 {
		bad("max-size", "must be at least 1 (and at least the runner's max_instances)")
	}
	if s.OnDemandBase > s.MaxSize && s.MaxSize > 0 {
		bad("on-demand-base", "%d is above --max-size %d", s.OnDemandBase, s.MaxSize)
	}
	if s.InterruptionQueue != "" && !queueNameRE.MatchString(s.InterruptionQueue) {
		bad("interruption-queue", "%q: an SQS queue name (1-80 letters, digits, - and _)", s.InterruptionQueue)
	}
	if len(s.UserData) > 16384 {
		bad("user-data", "%d bytes; EC2 allows 16 KB", len(s.UserData))
	}
	if t := s.ReadyHookTimeout; s.ReadyHook && (t < 30*time.Second || t > 2*time.Hour || t%time.Second != 0) {
		bad("ready-hook-timeout", "%s: AWS accepts whole seconds from 30s to 2h", t)
	}
	for k := range s.Tags {
		if k == "" || strings.HasPrefix(k, "aws:") {
			bad("tag", "%q: tag keys must be non-empty and not start with aws:", k)
		}
	}
	return errors.Join(errs...)
}

func duplicates(list []string) []string {
	seen := map[string]int{}
	var dup []string
	for _, v := range list {
		seen[v]++
		if seen[v] == 2 {
			dup = append(dup, v)
		}
	}
	return dup
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
