package integration_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/integration"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// The README's docker-autoscaler example, fed to the plugin binary the way
// the runner feeds it (plugin_config re-encoded as JSON, max_instances as
// the provisioner's max size), starts against a group set up as the README
// says.
func TestREADMELinuxExampleStartsThePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	blocks, err := readme.CodeBlocks("toml")
	if err != nil {
		t.Fatal(err)
	}
	var example struct {
		Runners []struct {
			Executor   string
			Autoscaler struct {
				Plugin          string
				MaxInstances    int            `toml:"max_instances"`
				PluginConfig    map[string]any `toml:"plugin_config"`
				ConnectorConfig struct {
					Username string
				} `toml:"connector_config"`
			}
		}
	}
	for _, b := range blocks {
		if strings.Contains(b, `executor = "docker-autoscaler"`) {
			if _, err := toml.Decode(b, &example); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(example.Runners) != 1 {
		t.Fatal("README has no docker-autoscaler config.toml example")
	}
	as := example.Runners[0].Autoscaler
	region, _ := as.PluginConfig["region"].(string)
	name, _ := as.PluginConfig["name"].(string)

	sim, err := awssim.Start(awssim.Options{Region: region, Speed: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if err := sim.CreateGroup(awssim.GroupSpec{Name: name, MaxSize: as.MaxInstances}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": sim.URL(), "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE000000000", "AWS_SECRET_ACCESS_KEY": "example",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}

	bin := integration.BuildPluginBinary(t, "../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")
	config, err := json.Marshal(as.PluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := fleeting.RunPlugin(bin, config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runner.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prov, err := fleeting.Init(ctx, nil, runner.InstanceGroup(),
		fleeting.WithMaxSize(as.MaxInstances),
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: provider.ConnectorConfig{
			Username: as.ConnectorConfig.Username,
		}}))
	if err != nil {
		t.Fatalf("the README example does not start the plugin: %v", err)
	}
	prov.Shutdown(ctx)
}
