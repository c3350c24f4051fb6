package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/aws/aws-sdk-go-v2/aws"
	fleeting "gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// badConfigs are plugin_config bodies (TOML under
// [runners.autoscaler.plugin_config]) the plugin refuses, each with the
// text every problem list must carry.
var badConfigs = []struct {
	name, body string
	want       []string
	connector  string // connector_config lines; "" = a Linux connector
}{
	{"misspelt key", `name = "runners"
regoin = "us-east-1"`, []string{`unknown plugin config key "regoin" (did you mean "region"?)`}, ""},
	{"unknown retry mode", `name = "runners"
retry_mode = "aggressive"`, []string{`invalid plugin config value for "retry_mode": "aggressive" (want standard or adaptive)`}, ""},
	{"duration in words", `name = "runners"
[runners.autoscaler.plugin_config.on_demand_fallback]
after = "2 minutes"`, []string{`invalid plugin config value for "on_demand_fallback.after": "2 minutes" is not a duration (want e.g. "15m" or "1h")`}, ""},
	{"wrong type", `name = "runners"
retry_max_attempts = "3"`, []string{`invalid plugin config value for "retry_max_attempts": want an integer, got string "3"`}, ""},
	{"misspelt region", `name = "runners"
region = "us-esat-1"`, []string{`invalid plugin config value for "region": "us-esat-1" is not an AWS region (did you mean "us-east-1"?)`}, ""},
	{"region that is no region", `name = "runners"
region = "frankfurt"`, []string{`invalid plugin config value for "region": "frankfurt" (want a region code such as eu-central-1)`}, ""},
	{"missing name", `region = "eu-central-1"`, []string{`missing required plugin config: name`}, ""},
	{"no plugin_config at all", ``, []string{`missing required plugin config: name`}, ""},
	{"every problem at once", `nmae = "runners"
poll_interval = "1ms"
[runners.autoscaler.plugin_config.fleet]
instance_types = []
spot_allocation_strategy = "cheapest"
[runners.autoscaler.plugin_config.assume_role]
role_arn = "runner-role"`, []string{
		`unknown plugin config key "nmae" (did you mean "name"?)`,
		`missing required plugin config: name`,
		`invalid plugin config value for "assume_role.role_arn": "runner-role"`,
		`invalid plugin config value for "fleet.instance_types": empty list`,
		`invalid plugin config value for "fleet.spot_allocation_strategy": "cheapest"`,
		`invalid plugin config value for "poll_interval": 1ms`,
	}, ""},
	{"windows without the key that decrypts its password", `name = "runners"`,
		[]string{`missing connector_config key_path: Windows passwords are decrypted with the launch key pair's private key`}, `os = "windows"`},
	{"config and connector problems together", `name = "runners"
regoin = "eu-west-1"`, []string{`unknown plugin config key "regoin" (did you mean "region"?)`, `missing connector_config key_path`}, `os = "windows"`},
}

// One table of bad configs through both doors: the plugin's Init, fed as
// the runner feeds it (config.toml → plugin_config table → JSON), and
// `doctor --config config.toml`. doctor must refuse each, without calling
// AWS, with exactly the problems (and words) of the runner log.
func TestDoctorRefusesEveryConfigThePluginRefusesWithTheSameMessages(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRunnerConfig(t, tc.body, tc.connector)

			initProblems := initRefusal(t, path)
			for _, w := range tc.want {
				if !containsLine(initProblems, w) {
					t.Errorf("Init's problems lack %q:\n%s", w, strings.Join(initProblems, "\n"))
				}
			}
			if (tc.name == "every problem at once" || tc.connector != "") && len(initProblems) != len(tc.want) {
				t.Errorf("Init reports %d problems, want %d:\n%s", len(initProblems), len(tc.want), strings.Join(initProblems, "\n"))
			}

			var out, errOut bytes.Buffer
			c := admin.CLI{Stdout: &out, Stderr: &errOut, MapState: provider.ReportedState,
				LoadAWS: func(context.Context, ec2spot.AWSOptions) (aws.Config, error) {
					t.Error("doctor reached for AWS with a config the plugin refuses")
					return aws.Config{}, errors.New("no AWS in this test")
				}}
			code := c.Run(context.Background(), []string{"doctor", "--config", path})
			if code != admin.ExitFailed {
				t.Errorf("doctor exit %d, want %d\n%s%s", code, admin.ExitFailed, out.String(), errOut.String())
			}
			var doctorProblems []string
			for _, line := range strings.Split(out.String(), "\n") {
				if msg, ok := strings.CutPrefix(line, "fail  plugin_config: "); ok {
					doctorProblems = append(doctorProblems, msg)
				}
			}
			if strings.Join(doctorProblems, "\n") != strings.Join(initProblems, "\n") {
				t.Errorf("doctor and the runner log differ\n runner log (Init):\n  %s\n doctor:\n  %s\n full doctor output:\n%s",
					strings.Join(initProblems, "\n  "), strings.Join(doctorProblems, "\n  "), out.String())
			}
			if strings.Contains(out.String(), "json:") {
				t.Errorf("doctor shows a decoder's words, not the plugin's:\n%s", out.String())
			}

			// status reads plugin_config through the same door (the
			// connector does not matter to it).
			if tc.connector != "" {
				return
			}
			out.Reset()
			errOut.Reset()
			if code := c.Run(context.Background(), []string{"status", "--config", path}); code != admin.ExitFailed {
				t.Errorf("status exit %d, want %d", code, admin.ExitFailed)
			}
			for _, p := range initProblems {
				if !strings.Contains(errOut.String(), p) {
					t.Errorf("status does not say %q:\n%s", p, errOut.String())
				}
			}
		})
	}
}

// The control: a config both doors accept gets past the config stage
// (doctor goes on to AWS), here a Windows connector with its key.
func TestDoctorGoesOnWithAConfigThePluginAccepts(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(key, []byte("a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeRunnerConfig(t, `name = "runners"
region = "eu-central-1"`, `os = "windows"
key_path = "`+key+`"`)
	var out bytes.Buffer
	reached := false
	c := admin.CLI{Stdout: &out, Stderr: &out, LoadAWS: func(_ context.Context, o ec2spot.AWSOptions) (aws.Config, error) {
		reached = o.Region == "eu-central-1"
		return aws.Config{}, errors.New("no AWS in this test")
	}}
	c.Run(context.Background(), []string{"doctor", "--config", path})
	if !reached || strings.Contains(out.String(), "plugin_config") {
		t.Errorf("doctor refused a config the plugin accepts:\n%s", out.String())
	}
}

// A well-formed region AWS has not opened yet, and every known one, pass
// both doors' config stage (new regions must not need a plugin release).
func TestNewRegionsOfAKnownShapePass(t *testing.T) {
	for _, region := range []string{"eu-central-3", "ap-southeast-9", "us-gov-south-1", "cn-southwest-1", "us-east-1", "eusc-de-east-1"} {
		tg := admin.TargetFor([]byte(`{"name":"runners","region":"` + region + `"}`))
		if tg.ConfigErr != nil {
			t.Errorf("region %s refused: %v", region, tg.ConfigErr)
		}
	}
}

func writeRunnerConfig(t *testing.T, body, connector string) string {
	t.Helper()
	if connector == "" {
		connector = `username = "ec2-user"`
	}
	doc := `concurrent = 4
[[runners]]
name = "spot"
executor = "docker-autoscaler"
[runners.autoscaler]
plugin = "fleeting-plugin-ec2spot"
max_instances = 3
[runners.autoscaler.connector_config]
` + connector + "\n"
	if body != "" {
		doc += "[runners.autoscaler.plugin_config]\n" + body + "\n"
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// initRefusal hands the runner's plugin_config to the plugin as the runner
// and fleeting's plugin server do, runs Init and returns the problems it
// lists under its heading.
func initRefusal(t *testing.T, path string) []string {
	t.Helper()
	var doc struct {
		Runners []struct {
			Autoscaler struct {
				PluginConfig    map[string]any `toml:"plugin_config"`
				ConnectorConfig struct {
					OS       string `toml:"os"`
					Username string `toml:"username"`
					KeyPath  string `toml:"key_path"`
				} `toml:"connector_config"`
			} `toml:"autoscaler"`
		} `toml:"runners"`
	}
	if _, err := toml.DecodeFile(path, &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc.Runners[0].Autoscaler.PluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	g := &provider.InstanceGroup{}
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatalf("the plugin server would fail before Init: %v", err)
	}
	cc := doc.Runners[0].Autoscaler.ConnectorConfig
	settings := fleeting.Settings{ConnectorConfig: fleeting.ConnectorConfig{OS: cc.OS, Username: cc.Username}}
	if cc.KeyPath != "" { // the runner reads the key
		if settings.Key, err = os.ReadFile(cc.KeyPath); err != nil {
			t.Fatal(err)
		}
	}
	_, err = g.Init(context.Background(), nil, settings)
	if err == nil {
		t.Fatalf("Init accepted %s", raw)
	}
	heading, rest, _ := strings.Cut(err.Error(), "\n")
	if heading != "invalid plugin config:" {
		t.Fatalf("Init failed on something else than the config: %v", err)
	}
	return strings.Split(rest, "\n")
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}
