package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Connector defaults for what connector_config leaves empty; Timeout and
// Keepalive match fleeting's own defaults (a zero Timeout would expire the
// dial at once, a zero Keepalive would spin).
const (
	DefaultLinuxUsername   = "ec2-user"
	DefaultWindowsUsername = "Administrator"
	DefaultTimeout         = 10 * time.Minute
	DefaultKeepalive       = 30 * time.Second
)

func validateSettings(s provider.Settings) []error {
	var errs []error
	if !s.UseStaticCredentials && s.OS == "windows" && len(s.Key) == 0 {
		errs = append(errs, errors.New("missing connector_config key_path: Windows passwords are decrypted with the launch key pair's private key (or set use_static_credentials with a password)"))
	}
	return errs
}

// ConnectInfo merges the runner's connector settings with what AWS says
// about the instance, and adds credentials: the static ones, a key pushed
// with EC2 Instance Connect (Linux, macOS), or the decrypted Administrator
// password (Windows).
func (g *InstanceGroup) ConnectInfo(ctx context.Context, id string) (provider.ConnectInfo, error) {
	fleet, log, err := g.ready()
	if err != nil {
		return provider.ConnectInfo{}, err
	}
	info := provider.ConnectInfo{ConnectorConfig: g.settings.ConnectorConfig, ID: id}
	_, err = fleet.Connect(ctx, id, func(d ec2spot.InstanceDetails) error {
		fillConnectorDefaults(&info.ConnectorConfig, d)
		info.InternalAddr = d.PrivateIP
		info.ExternalAddr = d.PublicIP

		log := log.With("instance", id, "instance_type", d.InstanceType, "availability_zone", d.AvailabilityZone, "market", d.Market)
		switch {
		case info.UseStaticCredentials:
			log.Debug("connect info with static credentials", "os", info.OS, "protocol", info.Protocol)
		case info.OS == "windows" && d.KeyName == "":
			// AWS encrypts the password to the launch key pair; without one it
			// never publishes a password, and polling would only hold the job.
			return errors.New("the Windows instance was launched without a key pair, so AWS has no password for it: set a key pair on the launch template, or use use_static_credentials")
		case info.OS == "windows":
			password, err := fleet.WindowsPassword(ctx, id, info.Key)
			if err != nil {
				return err
			}
			info.Password = password
			info.Key = nil // the launch key only decrypts; authenticate by password
			log.Debug("connect info with the Windows password", "protocol", info.Protocol)
		default:
			expires, err := fleet.PushKey(ctx, d, info.Username)
			if err != nil {
				return err
			}
			info.Key = g.key.privatePEM
			info.Password = ""
			info.Expires = &expires
			log.Debug("pushed the SSH key with EC2 Instance Connect", "username", info.Username, "expires", expires.UTC().Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		return provider.ConnectInfo{}, fmt.Errorf("connect info for %s: %w", id, err)
	}
	return info, nil
}

// fillConnectorDefaults completes what connector_config left empty.
func fillConnectorDefaults(c *provider.ConnectorConfig, d ec2spot.InstanceDetails) {
	if c.OS == "" {
		switch {
		case d.IsWindows():
			c.OS = "windows"
		case d.IsMac():
			c.OS = "darwin"
		default:
			c.OS = "linux"
		}
	}
	if c.Arch == "" {
		c.Arch = goArch(d.Architecture)
	}
	if c.Protocol == "" {
		c.Protocol = provider.ProtocolSSH
		if c.OS == "windows" {
			c.Protocol = provider.ProtocolWinRM
		}
	}
	if c.Username == "" {
		c.Username = DefaultLinuxUsername
		if c.OS == "windows" {
			c.Username = DefaultWindowsUsername
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Keepalive <= 0 {
		c.Keepalive = DefaultKeepalive
	}
}

// goArch maps an EC2 architecture onto GOARCH.
func goArch(ec2Arch string) string {
	switch ec2Arch {
	case "x86_64", "x86_64_mac":
		return "amd64"
	case "arm64", "arm64_mac":
		return "arm64"
	case "i386":
		return "386"
	default:
		return "amd64" // EC2 reports no other; the most common guess
	}
}

// Heartbeat reports ErrInstanceUnhealthy when AWS announced it takes the
// instance (spot interruption, EC2 stop or termination, Auto Scaling
// termination) or recommends rebalancing it (rebalance = "drain"), or when
// the latest snapshot shows it unhealthy, leaving, or gone. Its only API
// call is the spot request check of an instance that can be spot when the
// last answer is older than spot_check_max_age (shared by concurrent
// callers).
func (g *InstanceGroup) Heartbeat(ctx context.Context, id string) error {
	fleet, _, err := g.ready()
	if err != nil {
		return err
	}
	return unhealthy(fleet.Unhealthy(ctx, id))
}
