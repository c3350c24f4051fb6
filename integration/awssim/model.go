package awssim

import (
	"crypto/rsa"
	"time"
)

// The simulated account's state. Every field below is guarded by Sim.mu;
// handlers and the reconciler take the lock for the whole of one action so
// that each API call sees a consistent world, as AWS's APIs appear to.

// Group is an Auto Scaling group.
type Group struct {
	Name    string
	ARN     string
	MinSize int
	MaxSize int
	Desired int

	// Exactly one of LaunchTemplate or Mixed is set.
	LaunchTemplate *LaunchTemplateSpec
	Mixed          *MixedPolicy

	AvailabilityZones []string
	SubnetIDs         []string // VPCZoneIdentifier, split

	NewInstancesProtectedFromScaleIn bool
	CapacityRebalance                bool
	SuspendedProcesses               map[string]bool
	Tags                             map[string]string
	Policies                         []ScalingPolicy
	DefaultCooldown                  int
	HealthCheckType                  string
	MaxInstanceLifetime              int
	DesiredCapacityType              string
	CreatedTime                      time.Time

	// Activities newest first, as DescribeScalingActivities returns them.
	Activities []*Activity

	// nextLaunchAttempt holds back launches after a failure (ASG backoff).
	nextLaunchAttempt time.Time
	launchFailures    int
}

type LaunchTemplateSpec struct {
	ID      string
	Name    string
	Version string // "$Latest", "$Default" or a number
}

type MixedPolicy struct {
	LaunchTemplate LaunchTemplateSpec
	Overrides      []Override
	Distribution   Distribution
}

type Override struct {
	InstanceType     string
	WeightedCapacity int // 0 = 1
}

type Distribution struct {
	OnDemandAllocationStrategy          string
	OnDemandBaseCapacity                int
	OnDemandPercentageAboveBaseCapacity int // AWS default 100
	SpotAllocationStrategy              string
	SpotInstancePools                   int
	SpotMaxPrice                        string
}

type ScalingPolicy struct {
	Name string
	Type string
	ARN  string
}

// Activity is a scaling activity (launch or terminate).
type Activity struct {
	ID            string
	GroupName     string
	Description   string
	Cause         string
	Details       string
	StatusCode    string // Successful, Failed, Cancelled, InProgress, ...
	StatusMessage string
	Progress      int
	StartTime     time.Time
	EndTime       time.Time
}

// Market is how an instance is bought.
type Market string

const (
	OnDemand Market = "on-demand"
	Spot     Market = "spot"
)

// Instance is one EC2 instance, in a group or standalone (RunInstances).
type Instance struct {
	ID           string
	ImageID      string
	InstanceType string
	AZ           string
	SubnetID     string
	KeyName      string
	Platform     string // "" (Linux/UNIX) or "windows"
	Architecture string // x86_64, arm64
	Market       Market
	SpotRequestID string
	LaunchTemplate *LaunchTemplateSpec
	Tags         map[string]string

	PrivateIP string // 127.x.y.z, unique per instance
	PublicIP  string // 127.x.y.z, "" when the subnet maps no public IP

	// EC2 view: pending, running, shutting-down, terminated, stopping, stopped.
	State        string
	StateReason  string // e.g. Server.SpotInstanceTermination
	LaunchTime   time.Time
	runningAt    time.Time // when pending becomes running
	terminateAt  time.Time // when shutting-down becomes terminated
	terminatedAt time.Time // when it was removed from describe results

	// Auto Scaling view; Group == "" for standalone instances.
	Group              string
	Lifecycle          string // Pending, InService, Terminating, Terminated, Standby, ...
	Health             string // Healthy, Unhealthy
	ProtectedFromScaleIn bool
	WeightedCapacity   int

	// Windows: password encrypted to the key pair, available from passwordAt.
	Password   string
	passwordAt time.Time

	// Interruption: when the notice was given and when AWS takes the instance.
	InterruptionAction string
	interruptAt        time.Time
}

// SpotRequest is the one-time spot instance request behind a spot instance.
type SpotRequest struct {
	ID           string
	InstanceID   string
	InstanceType string
	AZ           string
	State        string // open, active, closed, cancelled, failed
	StatusCode   string // fulfilled, marked-for-termination, instance-terminated-no-capacity, ...
	StatusMessage string
	UpdateTime   time.Time
	CreateTime   time.Time
}

type LaunchTemplate struct {
	ID             string
	Name           string
	DefaultVersion int
	LatestVersion  int
	Versions       map[int]*LaunchTemplateData
	CreateTime     time.Time
}

type LaunchTemplateData struct {
	Version      int
	ImageID      string
	InstanceType string
	KeyName      string
	UserData     string
	SecurityGroupIDs []string
	Description  string
	CreateTime   time.Time
}

type KeyPair struct {
	ID          string
	Name        string
	Type        string // rsa, ed25519
	Fingerprint string
	PublicKey   []byte // OpenSSH authorized_keys format
	PrivateKey  []byte // PEM; only for pairs the simulator created
	rsaPublic   *rsa.PublicKey
	CreateTime  time.Time
}

type Subnet struct {
	ID                  string
	AZ                  string
	AZID                string
	CIDR                string
	VPCID               string
	MapPublicIPOnLaunch bool
}

type Image struct {
	ID           string
	Name         string
	Description  string
	Platform     string // "" or "windows"
	Architecture string
}

// PoolKey names a capacity pool: spot and on-demand capacity per
// (instance type, AZ), as AWS runs out of them independently.
type PoolKey struct {
	InstanceType string
	AZ           string
	Market       Market
}

// Pool is the capacity left in one pool. Capacity < 0 means unlimited.
type Pool struct {
	Capacity  int
	SpotPrice float64 // USD/hour, used by price-aware allocation strategies
}

// Queue is an SQS queue fed with EventBridge-shaped events.
type Queue struct {
	Name       string
	URL        string
	ARN        string
	Attributes map[string]string
	messages   []*Message
	waiters    chan struct{} // closed and replaced whenever a message arrives
}

type Message struct {
	ID            string
	Body          string
	ReceiptHandle string
	ReceiveCount  int
	SentAt        time.Time
	visibleAt     time.Time
}
