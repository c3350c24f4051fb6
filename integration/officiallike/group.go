// Package officiallike is a provider.InstanceGroup (in process, or served
// as a plugin by ServeIfPlugin) that behaves
// like GitLab's official AWS fleeting plugin v0.4.0 as documented in
// ../shared/reference/peers.md §1.4–1.5, for side-by-side simulations:
// one DescribeAutoScalingGroups per Update, InService → running,
// Terminating* → deleting, everything else creating; Increase from a
// cached size; Decrease per id stopping at the first error; ConnectInfo
// with a DescribeInstances and a new RSA key per call; no interruption
// awareness, no fallback, no heartbeat.
package officiallike

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"
)

// Group is the official-like instance group.
type Group struct {
	Name string
	// KeyBits of the per-call RSA key (default 4096, as v0.4.0).
	KeyBits int
	// KeygenCost, when set, stands in for generating a KeyBits key on a
	// fast simulated clock (where real CPU time is stretched by the clock's
	// speed): each call generates a fresh ed25519 key (microseconds) and
	// waits KeygenCost through Wait (simulated time) instead.
	KeygenCost time.Duration
	Wait       func(ctx context.Context, d time.Duration) error
	Config     aws.Config

	asg *autoscaling.Client
	ec2 *ec2.Client
	eic *ec2instanceconnect.Client
	log hclog.Logger

	settings provider.Settings
	mu       sync.Mutex
	size     int // cached desired capacity
}

var _ provider.InstanceGroup = (*Group)(nil)

// Init reads the group once; like v0.4.0 it reports MaxSize 1000.
func (g *Group) Init(ctx context.Context, log hclog.Logger, settings provider.Settings) (provider.ProviderInfo, error) {
	g.asg = autoscaling.NewFromConfig(g.Config)
	g.ec2 = ec2.NewFromConfig(g.Config)
	g.eic = ec2instanceconnect.NewFromConfig(g.Config)
	g.log, g.settings = log, settings
	if g.KeyBits == 0 {
		g.KeyBits = 4096
	}

	out, err := g.describe(ctx)
	if err != nil {
		return provider.ProviderInfo{}, err
	}
	if out.NewInstancesProtectedFromScaleIn == nil || !*out.NewInstancesProtectedFromScaleIn {
		log.Error("new instances are not protected from scale-in")
	}
	g.size = int(aws.ToInt32(out.DesiredCapacity))
	return provider.ProviderInfo{
		ID:      fmt.Sprintf("aws/%s/%s", g.Config.Region, g.Name),
		MaxSize: 1000,
		Version: "0.4.0-officiallike",
	}, nil
}

func (g *Group) describe(ctx context.Context) (*types.AutoScalingGroup, error) {
	out, err := g.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{g.Name},
	})
	if err != nil {
		return nil, err
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, fmt.Errorf("expected 1 auto scaling group, got %d", len(out.AutoScalingGroups))
	}
	return &out.AutoScalingGroups[0], nil
}

// Update emits every instance with v0.4.0's state mapping.
func (g *Group) Update(ctx context.Context, fn func(string, provider.State)) error {
	grp, err := g.describe(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	if int(aws.ToInt32(grp.DesiredCapacity)) != g.size {
		g.log.Error("out-of-sync capacity", "expected", g.size, "actual", aws.ToInt32(grp.DesiredCapacity))
	}
	g.mu.Unlock()
	for _, inst := range grp.Instances {
		state := provider.StateCreating
		switch ls := string(inst.LifecycleState); {
		case ls == "InService":
			state = provider.StateRunning
		case strings.HasPrefix(ls, "Terminat"):
			state = provider.StateDeleting
		}
		fn(aws.ToString(inst.InstanceId), state)
	}
	return nil
}

// Increase sets desired capacity from the cached size.
func (g *Group) Increase(ctx context.Context, n int) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, err := g.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.Name),
		DesiredCapacity:      aws.Int32(int32(g.size + n)),
		HonorCooldown:        aws.Bool(false),
	})
	if err != nil {
		return 0, fmt.Errorf("increasing instances failure: %w", err)
	}
	g.size += n
	return n, nil
}

// Decrease terminates one by one and stops at the first error.
func (g *Group) Decrease(ctx context.Context, ids []string) ([]string, error) {
	var done []string
	for _, id := range ids {
		_, err := g.asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId:                     aws.String(id),
			ShouldDecrementDesiredCapacity: aws.Bool(true),
		})
		if err != nil {
			return done, fmt.Errorf("decreasing instances failure: %w", err)
		}
		g.mu.Lock()
		g.size--
		g.mu.Unlock()
		done = append(done, id)
	}
	return done, nil
}

// ConnectInfo describes the instance and pushes a freshly generated key.
func (g *Group) ConnectInfo(ctx context.Context, id string) (provider.ConnectInfo, error) {
	info := provider.ConnectInfo{ConnectorConfig: g.settings.ConnectorConfig, ID: id}
	out, err := g.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return info, fmt.Errorf("describing instance: %w", err)
	}
	if len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return info, fmt.Errorf("instance %s not found", id)
	}
	inst := out.Reservations[0].Instances[0]
	if info.OS == "" {
		info.OS = "linux"
	}
	if info.Arch == "" {
		info.Arch = "amd64"
		if inst.Architecture == "arm64" {
			info.Arch = "arm64"
		}
	}
	if info.Protocol == "" {
		info.Protocol = provider.ProtocolSSH
	}
	if info.Username == "" {
		info.Username = "ec2-user"
	}
	info.InternalAddr = aws.ToString(inst.PrivateIpAddress)
	info.ExternalAddr = aws.ToString(inst.PublicIpAddress)
	if info.UseStaticCredentials {
		return info, nil
	}

	key, authorized, err := g.newKey(ctx)
	if err != nil {
		return info, err
	}
	_, err = g.eic.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
		InstanceId:       aws.String(id),
		InstanceOSUser:   aws.String(info.Username),
		SSHPublicKey:     aws.String(authorized),
		AvailabilityZone: inst.Placement.AvailabilityZone,
	})
	if err != nil {
		return info, fmt.Errorf("sending ssh public key: %w", err)
	}
	info.Key = key
	expires := time.Now().Add(60 * time.Second)
	info.Expires = &expires
	return info, nil
}

// newKey is v0.4.0's per-call key: its private key in PEM and its
// public key in authorized_keys form.
func (g *Group) newKey(ctx context.Context) (privatePEM []byte, authorized string, err error) {
	if g.KeygenCost > 0 && g.Wait != nil {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, "", err
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, "", err
		}
		sshPub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil, "", err
		}
		return pem.EncodeToMemory(block), string(ssh.MarshalAuthorizedKey(sshPub)), g.Wait(ctx, g.KeygenCost)
	}
	key, err := rsa.GenerateKey(rand.Reader, g.KeyBits)
	if err != nil {
		return nil, "", err
	}
	sshPub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return pem.EncodeToMemory(block), string(ssh.MarshalAuthorizedKey(sshPub)), nil
}

// Heartbeat did not exist in v0.4.0: every instance is healthy.
func (g *Group) Heartbeat(context.Context, string) error { return nil }

func (g *Group) Suspend(context.Context, []string) ([]string, error) { return nil, nil }
func (g *Group) Resume(context.Context, []string) ([]string, error)  { return nil, nil }
func (g *Group) Shutdown(context.Context) error                      { return nil }
