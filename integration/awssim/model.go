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
	// SuspendedProcesses maps a process name to its SuspensionReason.
	SuspendedProcesses  map[string]string
	Tags                map[string]string
	PropagateAtLaunch   map[string]bool // tag key → copied to launched instances
	Policies            []ScalingPolicy
	DefaultCooldown     int
	HealthCheckType     string
	HealthCheckGrace    int
	MaxInstanceLifetime int
	DesiredCapacityType string
	TerminationPolicies []string
	Status              string // "Delete in progress" while a forced delete drains
	CreatedTime         time.Time

	// Activities oldest first (appending is cheap); DescribeScalingActivities
	// walks them backwards to return newest first.
	Activities []*Activity

	// members are the instances the group manages (not yet removed).
	members map[string]*Instance

	// nextLaunchAttempt holds back launches after a failure (ASG backoff).
	nextLaunchAttempt time.Time
	launchFailures    int

	// protectedNoticeFor avoids repeating the "all protected" activity for
	// the same desired capacity.
	protectedNoticeFor int

	// launchTokens makes LaunchInstances idempotent per ClientToken.
	launchTokens map[string]any

	// lifecycleHooks by name (autoscaling_hooks.go).
	lifecycleHooks map[string]*LifecycleHook
	// retainOnAbandon is the InstanceLifecyclePolicy retention trigger
	// TerminateHookAbandon=retain.
	retainOnAbandon bool
}

// LaunchTemplateSpec names a launch template and version, as Auto Scaling
// stores it.
type LaunchTemplateSpec struct {
	ID      string
	Name    string
	Version string // "$Latest", "$Default" or a number
}

// MixedPolicy is a MixedInstancesPolicy: template, overrides, distribution.
type MixedPolicy struct {
	LaunchTemplate LaunchTemplateSpec
	Overrides      []Override
	Distribution   Distribution
}

// Override is one LaunchTemplateOverrides entry.
type Override struct {
	InstanceType     string
	WeightedCapacity int // 0 = 1
	ImageID          string
	LaunchTemplate   *LaunchTemplateSpec // per-override template, optional
}

// Distribution is an InstancesDistribution (AWS defaults: base 0,
// percentage 100, prioritized on-demand, lowest-price spot with 2 pools).
type Distribution struct {
	OnDemandAllocationStrategy          string
	OnDemandBaseCapacity                int
	OnDemandPercentageAboveBaseCapacity int // AWS default 100
	SpotAllocationStrategy              string
	SpotInstancePools                   int
	SpotMaxPrice                        string
}

// ScalingPolicy is stored and described, never executed.
type ScalingPolicy struct {
	Name              string
	Type              string // SimpleScaling, StepScaling, TargetTrackingScaling, PredictiveScaling
	ARN               string
	AdjustmentType    string
	ScalingAdjustment int
	Cooldown          int
	Enabled           bool
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
	EndTime       time.Time // zero while in progress
	GroupARN      string
}

// Market is how an instance is bought.
type Market string

const (
	OnDemand Market = "on-demand"
	Spot     Market = "spot"
)

// Instance is one EC2 instance, in a group or standalone (RunInstances).
type Instance struct {
	ID             string
	ImageID        string
	InstanceType   string
	AZ             string
	SubnetID       string
	KeyName        string
	Platform       string // "" (Linux/UNIX) or "windows"
	Architecture   string // x86_64, arm64
	Market         Market
	SpotRequestID  string
	LaunchTemplate *LaunchTemplateSpec
	Tags           map[string]string

	PrivateIP string // 127.x.y.z, unique per instance
	PublicIP  string // 127.x.y.z, "" when the subnet maps no public IP

	// EC2 view: pending, running, shutting-down, terminated, stopping, stopped.
	State        string
	StateReason  string // e.g. Server.SpotInstanceTermination
	LaunchTime   time.Time
	runningAt    time.Time // when pending becomes running
	terminateAt  time.Time // when shutting-down becomes terminated (or stopping → stopped)
	terminatedAt time.Time // when it became terminated; purged from describe an hour later

	// Auto Scaling view; Group == "" for standalone instances.
	Group                string
	Lifecycle            string // Pending, InService, Terminating, Terminated, Standby, ...
	Health               string // Healthy, Unhealthy
	ProtectedFromScaleIn bool
	WeightedCapacity     int

	// Windows: password encrypted to the key pair, available from passwordAt.
	Password   string
	passwordAt time.Time

	// Interruption: when the notice was given and when AWS takes the instance.
	InterruptionAction string
	interruptAt        time.Time

	inServiceAt time.Time // Pending → InService (group instances)
	// hookWaits: the lifecycle hooks holding it in Pending:Wait or
	// Terminating:Wait, by name.
	hookWaits map[string]hookWait
	detachAt  time.Time // Detaching → Detached
	// RebalanceRecommended is set by RecommendRebalance; with
	// CapacityRebalance the group replaces the instance.
	RebalanceRecommended bool
	// azRebalanceFrom is the AZ an AZRebalance launch is meant to relieve.
	azRebalanceFrom string

	launchActivity *Activity
	termActivity   *Activity
	poolReturned   bool // capacity slot already given back
}

// SpotRequest is the one-time spot instance request behind a spot instance.
type SpotRequest struct {
	ID            string
	InstanceID    string
	InstanceType  string
	AZ            string
	State         string // open, active, closed, cancelled, failed
	StatusCode    string // fulfilled, marked-for-termination, instance-terminated-no-capacity, ...
	StatusMessage string
	UpdateTime    time.Time
	CreateTime    time.Time
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
	Version          int
	ImageID          string
	InstanceType     string
	KeyName          string
	UserData         string
	SecurityGroupIDs []string
	Description      string
	CreateTime       time.Time
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
