package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// NamedTarget is one runner's target, named for the report.
type NamedTarget struct {
	Runner string
	Target Target
}

// runnerConfig is the part of GitLab Runner's config.toml doctor reads.
type runnerConfig struct {
	Runners []struct {
		Name       string `toml:"name"`
		Autoscaler *struct {
			Plugin          string         `toml:"plugin"`
			MaxInstances    int            `toml:"max_instances"`
			PluginConfig    map[string]any `toml:"plugin_config"`
			ConnectorConfig struct {
				OS                   string `toml:"os"`
				Arch                 string `toml:"arch"`
				Username             string `toml:"username"`
				UseStaticCredentials bool   `toml:"use_static_credentials"`
				KeyPath              string `toml:"key_path"`
			} `toml:"connector_config"`
		} `toml:"autoscaler"`
	} `toml:"runners"`
}

// LoadTargets reads a config.toml (the [[runners]] whose autoscaler plugin
// is this one, or the one named runner) or a plugin_config JSON file, and
// parses each plugin_config as the plugin does (provider.ParseConfig).
func LoadTargets(path, runner string) ([]NamedTarget, error) {
	return loadTargets(path, runner, nil)
}

// loadTargets is LoadTargets with keys set in every plugin_config before
// it is parsed (the --name and --region flags).
func loadTargets(path, runner string, set map[string]string) ([]NamedTarget, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		if len(set) > 0 {
			var pc map[string]any
			if json.Unmarshal(data, &pc) == nil && pc != nil {
				data = marshalWith(pc, set)
			} // else: ParseConfig names what is wrong with the file
		}
		return []NamedTarget{{Runner: filepath.Base(path), Target: parseTarget(data)}}, nil
	}
	var rc runnerConfig
	if _, err := toml.Decode(string(data), &rc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []NamedTarget
	var names []string
	for _, r := range rc.Runners {
		a := r.Autoscaler
		if a == nil {
			continue
		}
		names = append(names, r.Name)
		if runner != "" && r.Name != runner {
			continue
		}
		if runner == "" && !strings.Contains(a.Plugin, "ec2spot") {
			continue
		}
		t := parseTarget(marshalWith(a.PluginConfig, set)) // as the runner hands it to the plugin
		cc := a.ConnectorConfig
		t.OS, t.Arch, t.Username, t.UseStaticCredentials, t.KeyPath = cc.OS, cc.Arch, cc.Username, cc.UseStaticCredentials, cc.KeyPath
		t.MaxInstances = a.MaxInstances
		out = append(out, NamedTarget{Runner: r.Name, Target: t})
	}
	if len(out) == 0 {
		if runner != "" {
			return nil, fmt.Errorf("%s: no [[runners]] entry named %q with [runners.autoscaler] (found: %s)", path, runner, joinOr(names, "none"))
		}
		return nil, fmt.Errorf("%s: no [[runners]] entry uses plugin %s (give --runner NAME)", path, toolName)
	}
	return out, nil
}

// TargetFor is the target of a plugin_config given as JSON, without a
// runner's connector_config.
func TargetFor(pluginConfig []byte) Target { return parseTarget(pluginConfig) }

func parseTarget(pluginConfig []byte) Target {
	c, err := provider.ParseConfig(pluginConfig)
	return Target{Plugin: c, ConfigErr: err}
}

// marshalWith encodes a plugin_config table as the runner does (TOML table
// → JSON), with the keys of set replacing theirs in any letter case.
func marshalWith(pc map[string]any, set map[string]string) []byte {
	if len(set) > 0 {
		out := make(map[string]any, len(pc)+len(set))
		for k, v := range pc {
			out[k] = v
		}
		for key, v := range set {
			for k := range out {
				if strings.EqualFold(k, key) {
					delete(out, k)
				}
			}
			out[key] = v
		}
		pc = out
	}
	if pc == nil {
		return []byte("null") // no plugin_config, as the runner sends it
	}
	b, err := json.Marshal(pc)
	if err != nil { // TOML values always encode
		return []byte("null")
	}
	return b
}
