// Package awssim is an in-process simulated AWS: Auto Scaling, EC2, EC2
// Instance Connect and SQS over their real wire protocols, so the unmodified
// aws-sdk-go-v2 clients can be pointed at it with AWS_ENDPOINT_URL.
package awssim

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a simulator. Zero values take the defaults in
// (Options).withDefaults; durations are simulated time.
type Options struct {
	Region    string // default us-east-1
	AccountID string // default 123456789012

	// Addr is the listen address; default 127.0.0.1:0 (a free port).
	Addr string

	// Speed is simulated seconds per real second (default 1). A speed of
	// 60 boots a 30 s instance in half a real second.
	Speed float64

	BootDelay      time.Duration // Pending → InService; default 30s
	TerminateDelay time.Duration // Terminating → gone; default 20s
	PasswordDelay  time.Duration // Windows password available after launch; default 4m
	NoticePeriod   time.Duration // spot interruption notice → termination; default 2m
	// StatusCheckDelay: EC2 running → instance and system status checks
	// ok (DescribeInstanceStatus); default 2m, negative = at once.
	StatusCheckDelay time.Duration
	// UserDataDelay: EC2 running → the instance's user data completes its
	// launch lifecycle hooks; 0 = at once, negative = never.
	UserDataDelay time.Duration

	// Credentials, when set, are the only access key → secret pairs accepted.
	// Nil accepts any well-formed SigV4 signature (any key).
	Credentials map[string]string

	// Throttle enables token-bucket throttling with AWS-like default rates
	// (see SetThrottle). Off by default so ordinary tests are not flaky.
	Throttle bool

	// TerminateBatch makes TerminateInstanceInAutoScalingGroup behave like
	// an endpoint without the 2026 batch form (InstanceIds and
	// AutoScalingGroupName): "" accepts it; TerminateBatchValidationError
	// or TerminateBatchServerError reject a call without InstanceId the way
	// such an endpoint does (see SetTerminateBatch).
	TerminateBatch string

	// SSH, when set, starts an SSH host for every instance on its private
	// address (see integration/sshhost).
	SSH *SSHOptions

	// Seed fixes the simulator's own draws (instance, spot request and
	// launch template ids, Windows passwords, fault probabilities): the
	// same calls in the same order get the same ids. 0 draws a seed.
	Seed uint64
}

// SSHOptions configure the per-instance SSH hosts.
type SSHOptions struct {
	// Port every host listens on; 0 (the default) picks a free one at the
	// first host and keeps it (Sim.SSHPort), safe for parallel simulators.
	Port int
	// Shell runs commands; default "/bin/sh".
	Shell string
}

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.BootDelay == 0 {
		o.BootDelay = 30 * time.Second
	}
	if o.TerminateDelay == 0 {
		o.TerminateDelay = 20 * time.Second
	}
	if o.PasswordDelay == 0 {
		o.PasswordDelay = 4 * time.Minute
	}
	if o.NoticePeriod == 0 {
		o.NoticePeriod = 2 * time.Minute
	}
	switch {
	case o.StatusCheckDelay == 0:
		o.StatusCheckDelay = 2 * time.Minute
	case o.StatusCheckDelay < 0:
		o.StatusCheckDelay = 0
	}
	return o
}

// Sim is one simulated AWS account and region.
type Sim struct {
	mu    sync.Mutex
	opts  Options
	draws *draws

	clock *clock

	groups          map[string]*Group
	instances       map[string]*Instance
	launchTemplates map[string]*LaunchTemplate // by ID
	keyPairs        map[string]*KeyPair        // by name
	spotRequests    map[string]*SpotRequest
	subnets         []*Subnet
	images          []*Image
	queues          map[string]*Queue // by name
	pools           map[PoolKey]*Pool
	zones           []*Zone
	instanceTypes   map[string]*InstanceType
	activities      map[string]*Activity // by ID, for ActivityIds lookups

	// routes and control are the API actions and control calls served
	// (routes.go).
	routes  map[string]map[string]handler
	control []controlRoute

	faults   faults
	counters map[string]int // "service:Action" → calls received

	// impaired: instances whose status checks fail (SetStatusImpaired).
	impaired map[string]bool

	seq    uint64 // id generator
	nextIP uint32

	listener net.Listener
	server   *http.Server
	stop     chan struct{}
	done     chan struct{}
	// closeOnce makes Close idempotent.
	closeOnce sync.Once

	eb *ebState // EventBridge rules (eventbridge.go); nil until the first rule
	b  bState   // helper B's side: SSH hosts, event subscriptions (see bstate.go)
}
