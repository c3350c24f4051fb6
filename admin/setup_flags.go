package admin

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// setup's flags, and the config-file form that sets the same flags.

// listFlag is a comma-separated list; a later flag replaces an earlier one.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// tagFlag is a repeated key=value.
type tagFlag map[string]string

func (t tagFlag) String() string {
	out := make([]string, 0, len(t))
	for _, k := range sortedKeys(t) {
		out = append(out, k+"="+t[k])
	}
	return strings.Join(out, ",")
}
func (t tagFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	t[k] = val
	return nil
}

type setupFlags struct {
	fs       *flag.FlagSet
	config   string
	region   string
	profile  string
	userData string
	username string
	dryRun   bool
	spec     Spec
	types    listFlag
	subnets  listFlag
	sgs      listFlag
	tags     tagFlag
}

func newSetupFlags() *setupFlags {
	f := &setupFlags{fs: flag.NewFlagSet("setup", flag.ContinueOnError), tags: tagFlag{}}
	fs := f.fs
	fs.StringVar(&f.config, "config", "", "read settings from this TOML or JSON file")
	fs.StringVar(&f.spec.Name, "name", "", "Auto Scaling group name (required)")
	fs.StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION, the profile, instance metadata)")
	fs.StringVar(&f.profile, "profile", "", "AWS shared-config profile")
	fs.StringVar(&f.spec.LaunchTemplate, "launch-template", "", "launch template name (default: the group name)")
	fs.StringVar(&f.spec.ImageID, "ami", "", "AMI id (required)")
	fs.Var(&f.types, "instance-types", "instance types, comma-separated, in priority order (required; several families are best)")
	fs.Var(&f.subnets, "subnets", "subnet ids, comma-separated, one per availability zone (required)")
	fs.Var(&f.sgs, "security-groups", "security group ids, comma-separated")
	fs.StringVar(&f.spec.KeyName, "key-name", "", "EC2 key pair (Windows: decrypts the password)")
	fs.StringVar(&f.spec.InstanceProfile, "instance-profile", "", "IAM instance profile name or ARN for the instances")
	fs.StringVar(&f.userData, "user-data", "", "file with the instances' user data")
	fs.IntVar(&f.spec.OnDemandBase, "on-demand-base", 0, "on-demand instances before any spot")
	fs.IntVar(&f.spec.OnDemandPercentage, "on-demand-percentage", 0, "percentage of on-demand above the base (0 = all spot)")
	fs.StringVar(&f.spec.SpotAllocationStrategy, "spot-allocation-strategy", DefaultSpotAllocationStrategy, "price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized or lowest-price")
	fs.IntVar(&f.spec.MaxSize, "max-size", 0, "group MaxSize (required; at least the runner's max_instances)")
	fs.StringVar(&f.spec.InterruptionQueue, "interruption-queue", "", "SQS queue name: create it and the EventBridge rules that feed it")
	fs.Var(f.tags, "tag", "group tag KEY=VALUE, propagated to instances (repeatable)")
	fs.StringVar(&f.username, "username", "", "connector username for the snippet (default ec2-user, Administrator on Windows)")
	fs.BoolVar(&f.spec.ReadyHook, "ready-hook", false, "add the launch lifecycle hook "+ec2spot.DefaultReadyHookName+" for ready_when = \"lifecycle-hook\" and print the user-data line that completes it")
	fs.DurationVar(&f.spec.ReadyHookTimeout, "ready-hook-timeout", ec2spot.DefaultReadyHookTimeout, "with --ready-hook: how long an instance may boot and run its user data before the group abandons (terminates) it")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan; change nothing")
	return f
}

// parse reads flags, then the config file for every flag not given.
func (f *setupFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(f.fs.Args(), " "))
	}
	if f.config != "" {
		if err := f.loadFile(f.config); err != nil {
			return err
		}
	}
	f.spec.InstanceTypes, f.spec.Subnets, f.spec.SecurityGroups = f.types, f.subnets, f.sgs
	f.spec.Tags = map[string]string(f.tags)
	if f.userData != "" {
		b, err := os.ReadFile(f.userData)
		if err != nil {
			return fmt.Errorf("--user-data: %w", err)
		}
		f.spec.UserData = b
	}
	return nil
}

func (f *setupFlags) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	if strings.EqualFold(filepath.Ext(path), ".json") {
		err = json.Unmarshal(data, &m)
	} else {
		err = toml.Unmarshal(data, &m)
	}
	if err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		name := strings.ReplaceAll(k, "_", "-")
		fl := f.fs.Lookup(name)
		if fl == nil || name == "config" {
			errs = append(errs, fmt.Errorf("--config %s: unknown key %q", path, k))
			continue
		}
		if given[name] {
			continue
		}
		values := configValues(m[k])
		if _, isList := fl.Value.(*listFlag); isList {
			values = []string{strings.Join(values, ",")}
		}
		for _, v := range values {
			if err := fl.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("--config %s: %s: %w", path, k, err))
			}
		}
	}
	return errors.Join(errs...)
}

// configValues turns a file value into flag values: lists set repeatedly,
// tables (tags) as KEY=VALUE.
func configValues(v any) []string {
	switch v := v.(type) {
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, configValues(x)...)
		}
		return out
	case map[string]any:
		out := make([]string, 0, len(v))
		for k, x := range v {
			out = append(out, k+"="+fmt.Sprint(x))
		}
		sort.Strings(out)
		return out
	case float64: // JSON numbers
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	}
	return []string{fmt.Sprint(v)}
}
