package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
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
			} `toml:"connector_config"`
		} `toml:"autoscaler"`
	} `toml:"runners"`
}

// LoadTargets reads a config.toml (the [[runners]] whose autoscaler plugin
// is this one, or the one named runner) or a plugin_config JSON file.
func LoadTargets(path, runner string) ([]NamedTarget, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		pc, err := ParsePluginConfig(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []NamedTarget{{Runner: filepath.Base(path), Target: Target{Plugin: pc}}}, nil
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
		b, err := json.Marshal(a.PluginConfig) // as the runner hands it to the plugin
		if err != nil {
			return nil, err
		}
		pc, err := ParsePluginConfig(b)
		if err != nil {
			return nil, fmt.Errorf("%s runner %q: %w", path, r.Name, err)
		}
		cc := a.ConnectorConfig
		out = append(out, NamedTarget{Runner: r.Name, Target: Target{
			Plugin: pc, OS: cc.OS, Arch: cc.Arch, Username: cc.Username, UseStaticCredentials: cc.UseStaticCredentials, MaxInstances: a.MaxInstances,
		}})
	}
	if len(out) == 0 {
		if runner != "" {
			return nil, fmt.Errorf("%s: no [[runners]] entry named %q with [runners.autoscaler] (found: %s)", path, runner, joinOr(names, "none"))
		}
		return nil, fmt.Errorf("%s: no [[runners]] entry uses plugin %s (give --runner NAME)", path, toolName)
	}
	return out, nil
}
