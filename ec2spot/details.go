package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// InstanceDetails are the EC2 facts ConnectInfo needs. Addresses and
// platform do not change over an instance's life, so they are cached.
type InstanceDetails struct {
	ID               string
	Platform         string // "" (Linux/UNIX) or "windows"
	Architecture     string // i386, x86_64, arm64, x86_64_mac, arm64_mac
	InstanceType     string
	AvailabilityZone string
	PrivateIP        string
	PublicIP         string // "" without a public address
	KeyName          string
	ImageID          string
	Market           string // "spot" or "on-demand"
	State            string // EC2 state when first described
}

// IsWindows reports whether the instance runs Windows.
func (d InstanceDetails) IsWindows() bool { return strings.EqualFold(d.Platform, "windows") }

// IsMac reports whether the instance is an EC2 Mac.
func (d InstanceDetails) IsMac() bool {
	return strings.HasPrefix(d.InstanceType, "mac") || strings.HasSuffix(d.Architecture, "_mac")
}

// ErrInstanceNotRunning: the instance is stopping, stopped or gone.
var ErrInstanceNotRunning = errors.New("instance is no longer running")

// detailsCache caches InstanceDetails per id; concurrent lookups of one id
// share a single DescribeInstances call.
type detailsCache struct {
	mu      sync.Mutex
	entries map[string]*detailsEntry
}

type detailsEntry struct {
	ready   chan struct{}
	details InstanceDetails
	err     error
}

func (c *detailsCache) init() { c.entries = map[string]*detailsEntry{} }

// retain drops entries of instances that left the group.
func (c *detailsCache) retain(snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.entries {
		if _, ok := snap.Instance(id); !ok {
			delete(c.entries, id)
		}
	}
}

func (c *detailsCache) get(ctx context.Context, id string, fetch func(context.Context) (InstanceDetails, error)) (InstanceDetails, error) {
	c.mu.Lock()
	e, ok := c.entries[id]
	if !ok {
		e = &detailsEntry{ready: make(chan struct{})}
		c.entries[id] = e
		// Run apart from the first caller: the others wait on the same call,
		// each bounded by its own context.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		go func() {
			defer cancel()
			e.details, e.err = fetch(fetchCtx)
			if e.err != nil {
				c.mu.Lock()
				if c.entries[id] == e {
					delete(c.entries, id) // failures are not cached
				}
				c.mu.Unlock()
			}
			close(e.ready)
		}()
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.details, e.err
	case <-ctx.Done():
		return InstanceDetails{}, ctx.Err()
	}
}

// fetchTimeout bounds one shared DescribeInstances (with SDK retries).
const fetchTimeout = time.Minute

// Details returns the instance's EC2 details, cached per instance.
func (g *Group) Details(ctx context.Context, id string) (InstanceDetails, error) {
	return g.details.get(ctx, id, func(ctx context.Context) (InstanceDetails, error) {
		return describeInstance(ctx, g.clients.EC2, id)
	})
}

func describeInstance(ctx context.Context, api EC2API, id string) (InstanceDetails, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if code := errorCode(err); code == "InvalidInstanceID.NotFound" || code == "InvalidInstanceID.Malformed" {
			return InstanceDetails{}, fmt.Errorf("instance %s: %w (EC2 does not know it: %w)", id, ErrInstanceNotRunning, err)
		}
		return InstanceDetails{}, explain("ec2:DescribeInstances", err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) != id {
				continue
			}
			d := InstanceDetails{
				ID:           id,
				Platform:     string(i.Platform),
				Architecture: string(i.Architecture),
				InstanceType: string(i.InstanceType),
				PrivateIP:    aws.ToString(i.PrivateIpAddress),
				PublicIP:     aws.ToString(i.PublicIpAddress),
				KeyName:      aws.ToString(i.KeyName),
				ImageID:      aws.ToString(i.ImageId),
				Market:       "on-demand",
			}
			if i.Placement != nil {
				d.AvailabilityZone = aws.ToString(i.Placement.AvailabilityZone)
			}
			if i.InstanceLifecycle != "" {
				d.Market = string(i.InstanceLifecycle)
			}
			if i.State != nil {
				d.State = string(i.State.Name)
			}
			switch d.State {
			case "shutting-down", "terminated", "stopping", "stopped":
				return InstanceDetails{}, fmt.Errorf("instance %s is %s: %w", id, d.State, ErrInstanceNotRunning)
			}
			if d.PrivateIP == "" {
				return InstanceDetails{}, fmt.Errorf("instance %s has no private IPv4 address yet (EC2 state %q)", id, d.State)
			}
			return d, nil
		}
	}
	return InstanceDetails{}, fmt.Errorf("instance %s: %w (not returned by DescribeInstances)", id, ErrInstanceNotRunning)
}
