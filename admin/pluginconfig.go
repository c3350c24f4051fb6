package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// PluginConfig is the part of plugin_config doctor needs. Decoding is
// lenient (the plugin itself reports unknown keys); keys match
// case-insensitively, as encoding/json does.
type PluginConfig struct {
	Name             string `json:"name"`
	Profile          string `json:"profile"`
	ConfigFile       string `json:"config_file"`
	CredentialsFile  string `json:"credentials_file"`
	Region           string `json:"region"`
	RetryMode        string `json:"retry_mode"`
	RetryMaxAttempts int    `json:"retry_max_attempts"`
	AssumeRole       *struct {
		RoleARN     string `json:"role_arn"`
		ExternalID  string `json:"external_id"`
		SessionName string `json:"session_name"`
		Duration    string `json:"duration"`
	} `json:"assume_role"`
	InterruptionQueueURL string `json:"interruption_queue_url"`
	// LaunchMode decides whether the plugin calls LaunchInstances
	// ("synchronous") or only SetDesiredCapacity ("" or "asynchronous").
	LaunchMode string `json:"launch_mode"`
	// ReadyWhen decides whether doctor checks the launch hook
	// ("lifecycle-hook") and probes DescribeInstanceStatus ("status-ok").
	ReadyWhen string `json:"ready_when"`
}

// ParsePluginConfig decodes plugin_config JSON.
func ParsePluginConfig(data []byte) (PluginConfig, error) {
	var c PluginConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("plugin_config: %w", err)
	}
	return c, nil
}

// AWSOptions maps the config onto the plugin's AWS loader options.
func (c PluginConfig) AWSOptions() (ec2spot.AWSOptions, error) {
	o := ec2spot.AWSOptions{
		Region: c.Region, Profile: c.Profile, ConfigFile: expandHome(c.ConfigFile), CredentialsFile: expandHome(c.CredentialsFile),
		RetryMode: aws.RetryMode(c.RetryMode), RetryMaxAttempts: c.RetryMaxAttempts,
	}
	if c.RetryMode == "" {
		o.RetryMode = aws.RetryModeStandard
	}
	if a := c.AssumeRole; a != nil {
		o.AssumeRole = &ec2spot.AssumeRoleOptions{RoleARN: a.RoleARN, ExternalID: a.ExternalID, SessionName: a.SessionName}
		if o.AssumeRole.SessionName == "" {
			o.AssumeRole.SessionName = toolName
		}
		if a.Duration != "" {
			d, err := time.ParseDuration(a.Duration)
			if err != nil {
				return o, fmt.Errorf("plugin_config assume_role.duration: %w", err)
			}
			o.AssumeRole.Duration = d
		}
	}
	return o, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
