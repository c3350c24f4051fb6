package admin

import (
	"errors"
	"flag"
)

// targetFlags are the flags doctor and status share to pick the groups
// they look at: a config.toml (all runners or one) or a group by name.
type targetFlags struct {
	config, runner, name, region *string
}

// addTargetFlags registers the shared flags; verb says what the command
// does with a runner ("check", "show").
func addTargetFlags(fs *flag.FlagSet, verb string) targetFlags {
	return targetFlags{
		config: fs.String("config", "", "config.toml, or a plugin_config .json file"),
		runner: fs.String("runner", "", "the [[runners]] entry to "+verb+" (by name)"),
		name:   fs.String("name", "", "group name (overrides plugin_config name)"),
		region: fs.String("region", "", "region (overrides plugin_config region)"),
	}
}

// missing: neither a config nor a group name was given.
func (f targetFlags) missing() bool { return *f.config == "" && *f.name == "" }

// parse parses args into fs; ok is false when the command ends there,
// with exit: help asked for, a bad flag, an argument or no target.
func (f targetFlags) parse(fs *flag.FlagSet, args []string) (exit int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	if fs.NArg() > 0 || f.missing() {
		fs.Usage()
		return ExitUsage, false
	}
	return 0, true
}

// targets loads the config's targets (a plugin_config of only --name and
// --region without --config), with --name and --region set before the
// plugin_config is parsed, so they are checked as the plugin checks them.
func (f targetFlags) targets() ([]NamedTarget, error) {
	set := map[string]string{}
	if *f.name != "" {
		set["name"] = *f.name
	}
	if *f.region != "" {
		set["region"] = *f.region
	}
	if *f.config == "" {
		return []NamedTarget{{Target: parseTarget(marshalWith(map[string]any{}, set))}}, nil
	}
	return loadTargets(*f.config, *f.runner, set)
}
