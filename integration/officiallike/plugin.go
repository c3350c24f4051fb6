package officiallike

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/plugin"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// The official plugin is a separate process the runner talks to over gRPC,
// as ours is. Run in the runner's process instead, the model would skip
// the round trip and the second process that ours pays on every call,
// which a fast simulated clock multiplies by its speed: side by side it
// runs as a plugin too (ServeIfPlugin in the demo command and in tests).

// magicCookieKey/Value are fleeting's go-plugin handshake (internal to fleeting,
// so repeated here): set only in a process
// fleeting started as its plugin.
const magicCookieKey, magicCookieValue = "FLEETING_INSTANCE_GROUP_PLUGIN", "4c6410b1-cb78-4962-8c76-ab936d0ea908"

// PluginConfig is the plugin_config of the official-like plugin.
type PluginConfig struct {
	Name     string `json:"name"`
	Region   string `json:"region"`
	Endpoint string `json:"endpoint"`
	KeyBits  int    `json:"key_bits"`
	// KeygenWait is real time waited per key in place of generating a
	// KeyBits RSA key (Group.KeygenCost scaled to the real clock); 0
	// generates the key.
	KeygenWait time.Duration `json:"keygen_wait"`
}

// SimConfig is the model's AWS configuration against a simulator at
// endpoint, with its static fake credentials.
func SimConfig(region, endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIASIMULATION00000", "sim-secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Marshal is the plugin_config JSON for fleeting.RunPlugin.
func (c PluginConfig) Marshal() ([]byte, error) { return json.Marshal(c) }

// pluginGroup decodes PluginConfig (fleeting's plugin.Serve unmarshals
// plugin_config into the served value) and builds the Group at Init.
type pluginGroup struct {
	PluginConfig
	*Group `json:"-"`
}

func (p *pluginGroup) Init(ctx context.Context, log hclog.Logger, settings provider.Settings) (provider.ProviderInfo, error) {
	c := p.PluginConfig
	if c.Name == "" || c.Region == "" || c.Endpoint == "" {
		return provider.ProviderInfo{}, fmt.Errorf("official-like plugin: name, region and endpoint are required (got %q, %q, %q)", c.Name, c.Region, c.Endpoint)
	}
	p.Group = &Group{Name: c.Name, KeyBits: c.KeyBits, Config: SimConfig(c.Region, c.Endpoint)}
	if c.KeygenWait > 0 {
		p.KeygenCost = c.KeygenWait
		p.Wait = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return p.Group.Init(ctx, log, settings)
}

// ServeIfPlugin serves the official-like group over fleeting's gRPC when
// fleeting started this process as its plugin, and then reports true (the
// caller exits); otherwise it returns false at once. The demo command and
// test binaries call it first thing, so they can be their own
// official-like plugin binary.
func ServeIfPlugin() bool {
	if os.Getenv(magicCookieKey) != magicCookieValue {
		return false
	}
	plugin.Serve(&pluginGroup{})
	return true
}
