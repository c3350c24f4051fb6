package provider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// runnerConnectorKeys are the connector_config keys the runner knows.
var runnerConnectorKeys = map[string]bool{
	"os": true, "arch": true, "protocol": true, "protocol_port": true, "username": true,
	"password": true, "key_path": true, "use_static_credentials": true, "keepalive": true,
	"timeout": true, "use_external_addr": true,
}

// readmeExamples returns the README's config.toml examples, decoded.
func readmeExamples(t *testing.T) []map[string]any {
	t.Helper()
	blocks, err := readme.CodeBlocks("toml")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, b := range blocks {
		if !strings.Contains(b, "[[runners]]") {
			continue
		}
		var doc map[string]any
		if _, err := toml.Decode(b, &doc); err != nil {
			t.Fatalf("README config.toml example does not parse: %v\n%s", err, b)
		}
		out = append(out, doc)
	}
	if len(out) < 2 {
		t.Fatalf("README has %d complete config.toml examples, want the Linux and the Windows one", len(out))
	}
	return out
}

// Every config.toml example in the README goes through the runner's path
// (TOML → JSON → the plugin's strict decoding) and validates cleanly; files
// it names are stood in for by empty files, as they exist on a real manager.
func TestREADMEConfigExamplesAreValid(t *testing.T) {
	for _, doc := range readmeExamples(t) {
		r := doc["runners"].([]map[string]any)[0]
		t.Run(r["name"].(string), func(t *testing.T) {
			as := r["autoscaler"].(map[string]any)
			if p := as["plugin"]; p != "fleeting-plugin-ec2spot" {
				t.Errorf("plugin = %q, want the $PATH name fleeting-plugin-ec2spot", p)
			}
			pc := as["plugin_config"].(map[string]any)
			dir := t.TempDir()
			for _, key := range []string{"config_file", "credentials_file"} {
				if _, ok := pc[key]; ok {
					stand := filepath.Join(dir, key)
					if err := os.WriteFile(stand, nil, 0o600); err != nil {
						t.Fatal(err)
					}
					pc[key] = stand
				}
			}
			raw, err := json.Marshal(pc) // what the runner sends the plugin
			if err != nil {
				t.Fatal(err)
			}
			var g InstanceGroup
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			if len(g.configErrs) > 0 {
				t.Fatalf("plugin_config decode errors: %v", g.configErrs)
			}
			g.config.applyDefaults()
			if errs := g.config.validate(); len(errs) > 0 {
				t.Fatalf("plugin_config invalid: %v", errs)
			}
			for key := range as["connector_config"].(map[string]any) {
				if !runnerConnectorKeys[key] {
					t.Errorf("connector_config key %q is not one the runner knows", key)
				}
			}
		})
	}
}
