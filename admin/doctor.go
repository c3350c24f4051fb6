package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	fleeting "gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// Status of one doctor check.
type Status string

const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	// StatusSkip: the check cannot say anything in this set-up; the
	// message says why (never "ok" for a check that did not run).
	StatusSkip Status = "skip"
)

// Result is one line of doctor's report.
type Result struct {
	Status  Status
	Check   string // stable id, e.g. "group", "scale_in_protection", "iam:ec2:DescribeInstances"
	Message string
	Fix     string // empty for ok
}

func (r Result) String() string {
	line := fmt.Sprintf("%-4s  %s: %s", r.Status, r.Check, r.Message)
	if r.Fix != "" {
		line += "; fix: " + r.Fix
	}
	return line
}

// Target is what doctor checks: the runner's plugin_config and the parts
// of its connector_config and autoscaler section that matter to AWS.
type Target struct {
	// Plugin is plugin_config as the plugin reads it: parsed and defaulted
	// by provider.ParseConfig.
	Plugin provider.Config
	// ConfigErr is what ParseConfig refused (a *provider.ConfigError):
	// the plugin would not start, so doctor reports it and checks nothing
	// else.
	ConfigErr error
	// OS is connector_config os ("" = detected from the instance).
	OS string
	// Arch is connector_config arch ("" = detected).
	Arch                 string
	Username             string
	UseStaticCredentials bool
	// KeyPath is connector_config key_path (the runner reads the file).
	KeyPath string
	// MaxInstances is [runners.autoscaler] max_instances (0 = unknown).
	MaxInstances int
}

// Doctor checks one group; it changes nothing.
type Doctor struct {
	AWS    aws.Config
	Target Target
	// Now is the clock for "recent" activities; nil = time.Now.
	Now func() time.Time

	clients Clients
	results []Result
	// facts for later checks
	group *groupFacts
	// slowestLaunch is the longest recent successful launch activity
	// (launch to InService, any hook wait included); 0 = none seen.
	slowestLaunch time.Duration
}

func (d *Doctor) add(status Status, check, message, fix string) {
	d.results = append(d.results, Result{Status: status, Check: check, Message: message, Fix: fix})
}

// Run performs every check and returns one result per check.
func (d *Doctor) Run(ctx context.Context) []Result {
	if d.Now == nil {
		d.Now = time.Now
	}
	d.clients = NewClients(d.AWS)
	if d.checkGroup(ctx) {
		d.checkSetupRules(ctx)
		d.checkTemplate(ctx)
		d.checkZones()
		d.checkActivities(ctx)
		d.checkReadyHook(ctx)
	}
	d.checkQueue(ctx)
	d.checkIAM(ctx)
	return d.results
}

// RunDoctor reports plugin_config problems exactly as the plugin's Init
// would (and stops there: the plugin would not start); otherwise it
// resolves region and credentials as the plugin does and runs every check.
// load is ec2spot.LoadAWSConfig outside tests.
func RunDoctor(ctx context.Context, t Target, load func(context.Context, ec2spot.AWSOptions) (aws.Config, error)) []Result {
	if res := configResults(provider.RefuseInit(t.ConfigErr, t.settings())); res != nil {
		return res
	}
	cfg, err := load(ctx, t.Plugin.AWSOptions())
	if err != nil {
		return []Result{{Status: StatusFail, Check: "aws", Message: err.Error(),
			Fix: "run doctor with the runner manager's environment, profile and role"}}
	}
	creds, _ := cfg.Credentials.Retrieve(ctx) // resolved already by load
	first := Result{Status: StatusOK, Check: "aws", Message: fmt.Sprintf("region %s, credentials from %s", cfg.Region, orNone(creds.Source))}
	if t.Plugin.Name == "" { // only a Target built by hand gets here
		return []Result{first, {Status: StatusFail, Check: "plugin_config", Message: "name (the Auto Scaling group) is missing", Fix: "set plugin_config name"}}
	}
	d := &Doctor{AWS: cfg, Target: t}
	return append([]Result{first}, d.Run(ctx)...)
}

// settings are the connector settings the runner would hand Init. Before
// AWS, Init asks only whether a key is there, not what it holds.
func (t Target) settings() fleeting.Settings {
	s := fleeting.Settings{ConnectorConfig: fleeting.ConnectorConfig{
		OS: t.OS, Arch: t.Arch, Username: t.Username, UseStaticCredentials: t.UseStaticCredentials,
	}}
	if t.KeyPath != "" {
		s.Key = []byte(t.KeyPath)
	}
	return s
}

// configResults: one failed plugin_config check per problem, worded as in
// the runner log (the problem names the key and how to fix it).
func configResults(err error) []Result {
	if err == nil {
		return nil
	}
	var ce *provider.ConfigError
	if !errors.As(err, &ce) {
		return []Result{{Status: StatusFail, Check: "plugin_config", Message: err.Error()}}
	}
	res := make([]Result, 0, len(ce.Problems))
	for _, p := range ce.Problems {
		res = append(res, Result{Status: StatusFail, Check: "plugin_config", Message: p.Error()})
	}
	return res
}

// WriteResults prints the report and a summary; it reports whether any
// check failed.
func WriteResults(w io.Writer, results []Result) (failed bool) {
	var nFail, nWarn, nSkip int
	for _, r := range results {
		fmt.Fprintln(w, r)
		switch r.Status {
		case StatusFail:
			nFail++
		case StatusWarn:
			nWarn++
		case StatusSkip:
			nSkip++
		}
	}
	fmt.Fprintf(w, "%d checks: %d failed, %d with warnings, %d skipped\n", len(results), nFail, nWarn, nSkip)
	return nFail > 0
}

// apiProblem words an API error for a result: bad credentials and denied
// permissions are named as such.
func apiProblem(action string, err error) (msg, fix string) {
	switch {
	case ec2spot.IsBadCredentials(err):
		return fmt.Sprintf("AWS rejected the credentials calling %s: %s", action, apiMessage(err)), "check the profile, credentials file, environment or assume_role the runner uses"
	case ec2spot.IsAccessDenied(err):
		return fmt.Sprintf("access denied calling %s", action), "grant " + action + " to the runner manager (setup prints the policy)"
	}
	if code := errorCode(err); code != "" {
		return fmt.Sprintf("calling %s: %s: %s", action, code, errorMessage(err)), "see the AWS error above"
	}
	return fmt.Sprintf("calling %s: %v", action, err), "retry; if it persists, check connectivity to the AWS endpoints"
}

func joinOr(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ", ")
}
