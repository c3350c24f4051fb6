// Package provider is the fleeting side of the plugin: plugin_config,
// the provider.InstanceGroup methods, and the mapping of ec2spot results
// onto fleeting states, errors and log lines. It builds no AWS requests.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/plugin"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/metrics"
)

// InstanceGroup is the fleeting instance group over one Auto Scaling group.
// fleeting's plugin server decodes plugin_config into it (UnmarshalJSON)
// before calling Init.
type InstanceGroup struct {
	// Version is reported in ProviderInfo; set by main.
	Version plugin.VersionInfo

	config     Config // defaulted by parseConfig
	configErrs []error
	decoded    bool

	// Test hooks, applied last.
	awsOptions   func(*ec2spot.AWSOptions)
	groupOptions func(*ec2spot.GroupOptions)
	spotOptions  func(*ec2spot.SpotOptions)

	mu       sync.Mutex // guards initialisation
	log      hclog.Logger
	settings provider.Settings
	region   string
	fleet    *ec2spot.Fleet
	// key is pushed with EC2 Instance Connect (public half) and handed to
	// the runner in ConnectInfo (private half); nil with static credentials.
	key     *sshKey
	metrics *metrics.Metrics // nil without metrics_listen
	served  *metrics.Server

	// singleFormLogged: the terminate fallback was reported (once).
	singleFormLogged atomic.Bool
}

var _ provider.InstanceGroup = (*InstanceGroup)(nil)

// UnmarshalJSON parses plugin_config as ParseConfig does. It never fails:
// problems are kept and reported by Init together with the connector's, so
// the runner log shows all of them at once under one heading.
func (g *InstanceGroup) UnmarshalJSON(data []byte) error {
	g.config, g.configErrs = parseConfig(data)
	g.decoded = true
	return nil
}

// Init validates the config, connects to AWS, checks the group's setup and
// reports the group's limits.
func (g *InstanceGroup) Init(ctx context.Context, log hclog.Logger, settings provider.Settings) (provider.ProviderInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if log == nil {
		log = hclog.NewNullLogger()
	}

	if !g.decoded { // no plugin_config reached UnmarshalJSON
		g.config, g.configErrs = parseConfig(nil)
	}
	cfg := g.config // complete: parseConfig defaulted it, nothing changes it later
	if err := refuseInit(g.configErrs, settings); err != nil {
		return provider.ProviderInfo{}, err
	}
	g.metrics = newMetrics(cfg)

	awsCfg, err := ec2spot.LoadAWSConfig(ctx, g.awsOptionsFor(cfg))
	if err != nil {
		return provider.ProviderInfo{}, err
	}
	g.region = awsCfg.Region
	g.log = log.With("group", cfg.Name, "region", g.region)

	var key *sshKey
	if !settings.UseStaticCredentials {
		// Once per process, here rather than on the first connection.
		if key, err = processKey(); err != nil {
			return provider.ProviderInfo{}, err
		}
	}
	g.key = key
	opts := ec2spot.GroupOptions{
		Name:         cfg.Name,
		Region:       g.region,
		Clients:      ec2spot.NewClients(awsCfg),
		PublicKey:    key.public(),
		SettledReuse: cfg.PollInterval.Duration,
		WaitReuse:    cfg.PollInterval.Duration / waitReuseDivisor,
		ReadyWhen:    ec2spot.ReadyWhen(cfg.ReadyWhen),
		// EC2 runs the status checks once a minute: asking every 2 s
		// (fleeting's pace while instances are creating) finds nothing
		// new; every other Update does.
		StatusCheckEvery: cfg.PollInterval.Duration / statusCheckDivisor,
	}
	if g.groupOptions != nil {
		g.groupOptions(&opts)
	}
	spotOpts := cfg.spotOptions()
	spotOpts.Log, spotOpts.Observer = g.log, g.observer()
	if g.spotOptions != nil {
		g.spotOptions(&spotOpts)
	}
	fleet := ec2spot.NewFleet(ec2spot.FleetOptions{Group: opts, Spot: spotOpts, Synchronous: cfg.LaunchMode == LaunchModeSynchronous})

	snap, err := fleet.Open(ctx)
	if err != nil {
		return provider.ProviderInfo{}, g.checkPermissions(ctx, fleet, settings, err)
	}
	findings, err := fleet.CheckSetup(ctx, snap)
	if err != nil {
		return provider.ProviderInfo{}, g.checkPermissions(ctx, fleet, settings, err)
	}
	if err := g.reportSetup(findings); err != nil {
		return provider.ProviderInfo{}, err
	}
	if err := checkReadyHook(ctx, g.log, fleet, cfg.ReadyWhen); err != nil {
		return provider.ProviderInfo{}, g.checkPermissions(ctx, fleet, settings, err)
	}
	if err := g.checkPermissions(ctx, fleet, settings, nil); err != nil {
		return provider.ProviderInfo{}, err
	}

	if err := g.serveMetrics(ctx, cfg); err != nil {
		return provider.ProviderInfo{}, err
	}

	g.fleet = fleet
	fleet.Start()
	g.log.Info("spot handling", spotSummary(cfg)...)
	g.settings = settings
	version := g.versionInfo()
	g.log.Info("instance group ready",
		"max_size", snap.MaxSize, "desired_capacity", snap.Desired, "instances", len(snap.Instances),
		"credentials", credentialsMode(settings), "version", version.Version)
	return provider.ProviderInfo{
		ID:        fmt.Sprintf("aws/%s/%s", g.region, cfg.Name),
		MaxSize:   snap.MaxSize,
		Version:   version.Version,
		BuildInfo: version.BuildInfo(),
	}, nil
}

func (g *InstanceGroup) awsOptionsFor(cfg Config) ec2spot.AWSOptions {
	o := cfg.AWSOptions()
	o.Observer = g.observer()
	if g.awsOptions != nil {
		g.awsOptions(&o)
	}
	return o
}

// reportSetup logs warnings and fails on errors, all listed together.
func (g *InstanceGroup) reportSetup(findings []ec2spot.Finding) error {
	var errs []error
	for _, f := range findings {
		switch f.Severity {
		case ec2spot.SeverityError:
			g.log.Error("auto scaling group setup problem", "check", f.Check, "problem", f.Problem, "fix", f.Fix)
			errs = append(errs, f)
		case ec2spot.SeverityWarning:
			g.log.Warn("auto scaling group setup warning", "check", f.Check, "problem", f.Problem, "fix", f.Fix)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("auto scaling group %q is not set up for a runner:\n%w", g.config.Name, errors.Join(errs...))
	}
	return nil
}

func credentialsMode(s provider.Settings) string {
	if s.UseStaticCredentials {
		return "static"
	}
	return "ec2-instance-connect"
}

// ready returns the fleet, or an error before a successful Init.
func (g *InstanceGroup) ready() (*ec2spot.Fleet, hclog.Logger, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fleet == nil {
		return nil, nil, errors.New("instance group is not initialised")
	}
	return g.fleet, g.log, nil
}

// Suspend is not supported: one-time Spot instances cannot be stopped.
func (g *InstanceGroup) Suspend(context.Context, []string) ([]string, error) {
	return nil, provider.ErrSuspendResumeNotSupported
}

// Resume is not supported (see Suspend).
func (g *InstanceGroup) Resume(context.Context, []string) ([]string, error) {
	return nil, provider.ErrSuspendResumeNotSupported
}

// Shutdown stops the interruption queue consumer and ends an on-demand
// fallback in force (restoring the group's percentage), spending at most a
// couple of seconds on AWS: it never waits on retries against a failing
// AWS. It deletes nothing: removing instances on shutdown is the runner's
// decision (delete_instances_on_shutdown).
func (g *InstanceGroup) Shutdown(ctx context.Context) error {
	if fleet, log, err := g.ready(); err == nil {
		fleet.Close(ctx)
		log.Info("shutting down; instances are left to the runner")
	}
	g.stopMetrics(ctx)
	return nil
}
