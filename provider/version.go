package provider

import (
	"runtime/debug"

	"gitlab.com/gitlab-org/fleeting/fleeting/plugin"
)

// versionInfo is the version main set, completed from the build info the
// way plugin.Main completes its own copy (plain `go build` sets no ldflags).
func (g *InstanceGroup) versionInfo() plugin.VersionInfo {
	v := g.Version
	if v.Name == "" {
		v.Name = "fleeting-plugin-ec2spot"
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v.Version == "" {
		v.Version = info.Main.Version
		if v.Version == "" || v.Version == "(devel)" {
			v.Version = "dev"
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.Revision == "" {
				v.Revision = s.Value[:min(12, len(s.Value))]
			}
		case "vcs.time":
			if v.BuiltAt == "" {
				v.BuiltAt = s.Value
			}
		}
	}
	return v
}
