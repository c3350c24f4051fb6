package provider

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// configProblems decodes, defaults and validates like Init does.
func configProblems(t *testing.T, js string) (Config, string) {
	t.Helper()
	c, errs := decodeConfig([]byte(js))
	c.applyDefaults()
	errs = append(errs, c.validate()...)
	if len(errs) == 0 {
		return c, ""
	}
	return c, errors.Join(errs...).Error()
}

func TestDecodeConfigAcceptsAllKeys(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	credFile := filepath.Join(dir, "credentials")
	for _, f := range []string{cfgFile, credFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	js := `{"name":"runners","profile":"ci","config_file":"` + cfgFile + `","credentials_file":"` + credFile + `",
		"region":"eu-central-1","retry_mode":"adaptive","retry_max_attempts":5,
		"assume_role":{"role_arn":"arn:aws:iam::123456789012:role/runner","external_id":"ext-1","session_name":"ci","duration":"1h"}}`
	c, errs := decodeConfig([]byte(js))
	if len(errs) > 0 {
		t.Fatalf("decode: %v", errors.Join(errs...))
	}
	c.applyDefaults()
	if errs := c.validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errors.Join(errs...))
	}
	want := Config{Name: "runners", Profile: "ci", ConfigFile: cfgFile, CredentialsFile: credFile, Region: "eu-central-1",
		RetryMode: "adaptive", RetryMaxAttempts: 5,
		AssumeRole: &AssumeRole{RoleARN: "arn:aws:iam::123456789012:role/runner", ExternalID: "ext-1", SessionName: "ci", Duration: Duration{time.Hour}}}
	if c.Name != want.Name || c.Profile != want.Profile || c.ConfigFile != want.ConfigFile || c.CredentialsFile != want.CredentialsFile ||
		c.Region != want.Region || c.RetryMode != want.RetryMode || c.RetryMaxAttempts != want.RetryMaxAttempts || *c.AssumeRole != *want.AssumeRole {
		t.Fatalf("got %+v (%+v), want %+v (%+v)", c, c.AssumeRole, want, want.AssumeRole)
	}
}

func TestDecodeConfigOfficialPluginConfig(t *testing.T) {
	// Only name (the official plugin's keys) and case-insensitive matching.
	c, msg := configProblems(t, `{"Name":"runners"}`)
	if msg != "" {
		t.Fatalf("unexpected problems: %s", msg)
	}
	if c.Name != "runners" || c.RetryMode != DefaultRetryMode || c.RetryMaxAttempts != DefaultRetryMaxAttempts {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestDecodeConfigDefaults(t *testing.T) {
	c, msg := configProblems(t, `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}`)
	if msg != "" {
		t.Fatal(msg)
	}
	if c.AssumeRole.SessionName != DefaultSessionName {
		t.Fatalf("session name default: %q", c.AssumeRole.SessionName)
	}
}

func TestDecodeConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string // each must appear
	}{
		{"missing plugin_config", `null`, []string{"missing required plugin config: name"}},
		{"empty", `{}`, []string{"missing required plugin config: name"}},
		{"not a table", `"runners"`, []string{"plugin config must be a table of keys"}},
		{"typo", `{"name":"g","regoin":"eu-west-1"}`, []string{`unknown plugin config key "regoin" (did you mean "region"?)`}},
		{"far off", `{"name":"g","xyzzy":1}`, []string{`unknown plugin config key "xyzzy" (known keys: name, profile`}},
		{"nested typo", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","extrnal_id":"x"}}`,
			[]string{`unknown plugin config key "assume_role.extrnal_id" (did you mean "assume_role.external_id"?)`}},
		{"name type", `{"name":5}`, []string{`invalid plugin config value for "name": want a string, got number 5`}},
		{"profile type", `{"name":"g","profile":true}`, []string{`invalid plugin config value for "profile": want a string, got boolean true`}},
		{"config_file type", `{"name":"g","config_file":[]}`, []string{`invalid plugin config value for "config_file": want a string, got a list`}},
		{"credentials_file type", `{"name":"g","credentials_file":{}}`, []string{`invalid plugin config value for "credentials_file": want a string, got a table`}},
		{"region type", `{"name":"g","region":1}`, []string{`invalid plugin config value for "region": want a string, got number 1`}},
		{"retry_mode type", `{"name":"g","retry_mode":1}`, []string{`invalid plugin config value for "retry_mode": want a string`}},
		{"retry_max_attempts type", `{"name":"g","retry_max_attempts":"3"}`, []string{`invalid plugin config value for "retry_max_attempts": want an integer, got string "3"`}},
		{"assume_role type", `{"name":"g","assume_role":"arn"}`, []string{`invalid plugin config value for "assume_role": want a table`}},
		{"role_arn type", `{"name":"g","assume_role":{"role_arn":1}}`, []string{`invalid plugin config value for "assume_role.role_arn": want a string`}},
		{"external_id type", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","external_id":1}}`, []string{`invalid plugin config value for "assume_role.external_id": want a string`}},
		{"session_name type", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","session_name":1}}`, []string{`invalid plugin config value for "assume_role.session_name": want a string`}},
		{"duration type", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","duration":true}}`, []string{`invalid plugin config value for "assume_role.duration": want a duration string`}},
		{"duration syntax", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","duration":"an hour"}}`, []string{`invalid plugin config value for "assume_role.duration": "an hour" is not a duration`}},
		{"duration range", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","duration":"1m"}}`, []string{`invalid plugin config value for "assume_role.duration": 1m0s (want between 15m and 12h)`}},
		{"duration seconds mistaken for ns", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","duration":3600}}`, []string{`invalid plugin config value for "assume_role.duration": 3.6µs (want between 15m and 12h)`}},
		{"region value", `{"name":"g","region":"Frankfurt"}`, []string{`invalid plugin config value for "region": "Frankfurt" (want a region code such as eu-central-1)`}},
		{"config_file missing", `{"name":"g","config_file":"/nonexistent/aws-config"}`, []string{`invalid plugin config value for "config_file": stat /nonexistent/aws-config: no such file or directory`}},
		{"credentials_file missing", `{"name":"g","credentials_file":"/nonexistent/creds"}`, []string{`invalid plugin config value for "credentials_file": stat /nonexistent/creds`}},
		{"role_arn missing", `{"name":"g","assume_role":{}}`, []string{"missing required plugin config: assume_role.role_arn"}},
		{"role_arn value", `{"name":"g","assume_role":{"role_arn":"runner-role"}}`, []string{`invalid plugin config value for "assume_role.role_arn": "runner-role" (want arn:aws:iam::<account>:role/<name>)`}},
		{"external_id value", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","external_id":"a b"}}`, []string{`invalid plugin config value for "assume_role.external_id"`}},
		{"session_name value", `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","session_name":"has space"}}`, []string{`invalid plugin config value for "assume_role.session_name": "has space"`}},
		{"retry_mode value", `{"name":"g","retry_mode":"fast"}`, []string{`invalid plugin config value for "retry_mode": "fast" (want standard or adaptive)`}},
		{"retry_max_attempts value", `{"name":"g","retry_max_attempts":-1}`, []string{`invalid plugin config value for "retry_max_attempts": -1 (want 1 to 20)`}},
		{"name too long", `{"name":"` + strings.Repeat("x", 256) + `"}`, []string{`invalid plugin config value for "name": longer than 255 characters`}},
		{"everything at once", `{"regoin":"x","name":5,"retry_mode":"fast"}`, []string{
			`unknown plugin config key "regoin"`,
			`invalid plugin config value for "name"`,
			"missing required plugin config: name",
			`invalid plugin config value for "retry_mode"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msg := configProblems(t, tt.json)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("problems do not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestClosest(t *testing.T) {
	known := []string{"name", "profile", "config_file", "credentials_file", "region", "assume_role"}
	for key, want := range map[string]string{
		"regoin": "region", "nmae": "name", "profil": "profile", "configfile": "config_file",
		"credential_file": "credentials_file", "assumerole": "assume_role", "Region": "region", "zzz": "",
	} {
		if got := closest(key, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", key, got, want)
		}
	}
}

// Init works on one complete config: what fleeting decoded is defaulted
// once, and every later call reads that same complete config, never a
// copy whose tables were defaulted under it (Init used to default a
// shallow copy: tables shared, plain keys not).
func TestInitKeepsOneCompleteConfig(t *testing.T) {
	raw := []byte(`{"name":"runners","on_demand_fallback":{},"fleet":{"instance_types":["m5.large"]}}`)
	want, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	g := &InstanceGroup{}
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatal(err)
	}
	// Refused after the config stage (Windows without a key), before AWS.
	if _, err := g.Init(context.Background(), nil, provider.Settings{ConnectorConfig: provider.ConnectorConfig{OS: "windows"}}); err == nil {
		t.Fatal("Init accepted Windows without key_path")
	}
	if !reflect.DeepEqual(g.config, want) {
		t.Errorf("after Init the plugin holds\n %+v\nwant the parsed config\n %+v", g.config, want)
	}
	if g.config.LaunchMode != DefaultLaunchMode || g.config.OnDemandFallback.After.Duration != DefaultFallbackAfter {
		t.Errorf("half-defaulted: launch_mode %q, on_demand_fallback.after %s", g.config.LaunchMode, g.config.OnDemandFallback.After)
	}
}

// ParseConfig returns every problem at once, as a *ConfigError under the
// heading the runner log shows.
func TestParseConfigListsEveryProblem(t *testing.T) {
	_, err := ParseConfig([]byte(`{"nmae":"x","retry_mode":"aggressive","region":"us-esat-1"}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 4 || !strings.HasPrefix(err.Error(), "invalid plugin config:\n") {
		t.Fatalf("got %v", err)
	}
}
