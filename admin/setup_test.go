package admin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	plugin "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// mutatingCalls are the counted calls setup's apply makes.
func mutatingCalls(sim *awssim.Sim) map[string]int {
	out := map[string]int{}
	for _, a := range admin.MutatingActions {
		svc, action, _ := strings.Cut(a, ":")
		if n := sim.CallCount(svc, action); n > 0 {
			out[a] = n
		}
	}
	return out
}

// snippetConfig turns setup's printed snippet into a config.toml file.
func snippetConfig(t *testing.T, stdout string) string {
	t.Helper()
	start := strings.Index(stdout, "  [runners.autoscaler]")
	end := strings.Index(stdout, "\nIAM policy for the runner manager:")
	if start < 0 || end < start {
		t.Fatalf("no snippet in:\n%s", stdout)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	toml := "concurrent = 1\n\n[[runners]]\n  name = \"spot\"\n  executor = \"docker-autoscaler\"\n" + stdout[start:end]
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Done when: setup on an empty account produces a group that doctor
// passes and the plugin's Init accepts, with the printed snippet; events
// then reach the printed queue.
func TestSetupOnEmptyAccount(t *testing.T) {
	sim, cfg := newSim(t)
	r := runCLI(t, cfg, setupArgs()...)
	if r.code != 0 {
		t.Fatalf("setup exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"+ create launch template runners", "+ create auto scaling group runners", "suspend AZRebalance",
		"+ create SQS queue runners-events", "+ create EventBridge rule runners-ec2-spot-events", "done: create target of EventBridge rule runners-autoscaling-events",
		`interruption_queue_url = "` + sim.URL() + `/123456789012/runners-events"`, `"Resource": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/runners"`,
		`"sqs:ReceiveMessage"`, "arn:aws:sqs:us-east-1:123456789012:runners-events"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("setup output lacks %q:\n%s", want, r.stdout)
		}
	}
	g, ok := sim.Group("runners")
	if !ok || !g.NewInstancesProtectedFromScaleIn || g.CapacityRebalance || g.MinSize != 0 || g.MaxSize != 10 || g.Mixed == nil ||
		g.Mixed.Distribution.OnDemandBaseCapacity != 1 || g.Mixed.Distribution.OnDemandPercentageAboveBaseCapacity != 0 ||
		g.Mixed.Distribution.SpotAllocationStrategy != "price-capacity-optimized" || len(g.Mixed.Overrides) != 3 || len(g.AvailabilityZones) != 3 {
		t.Fatalf("group: %+v", g)
	}
	if _, ok := g.SuspendedProcesses["AZRebalance"]; !ok || g.Tags["team"] != "ci" || !g.PropagateAtLaunch["team"] {
		t.Fatalf("group processes %v tags %v", g.SuspendedProcesses, g.Tags)
	}

	config := snippetConfig(t, r.stdout)
	d := runCLI(t, cfg, "doctor", "--config", config)
	if d.code != 0 || strings.Contains(d.stdout, "fail ") {
		t.Fatalf("doctor exit %d on a fresh setup:\n%s\n%s", d.code, d.stdout, d.stderr)
	}
	for _, want := range []string{"ok    group: runners exists", "ok    event_rules:", "ok    queue_policy:", "ok    iam:autoscaling:SetDesiredCapacity: allowed", "0 failed"} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, d.stdout)
		}
	}

	targets, err := admin.LoadTargets(config, "")
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets %v, %v", targets, err)
	}

	// The rules deliver: a spot interruption reaches the queue (before the
	// plugin's own consumer empties it).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asg := autoscaling.NewFromConfig(cfg)
	if _, err := asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var spot string
	waitFor(t, "a spot instance", func() bool {
		for _, i := range sim.Instances() {
			if i.Group == "runners" && i.Market == awssim.Spot && i.Lifecycle == "InService" {
				spot = i.ID
				return true
			}
		}
		return false
	})
	if err := sim.Interrupt(spot, "terminate"); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	found := false
	waitFor(t, "the interruption warning on the queue", func() bool {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(targets[0].Target.Plugin.InterruptionQueueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			found = found || strings.Contains(aws.ToString(m.Body), `"EC2 Spot Instance Interruption Warning"`) && strings.Contains(aws.ToString(m.Body), spot)
		}
		return found
	})

	// The plugin's own Init, fed the snippet's plugin_config as the runner
	// would (TOML table → JSON).
	pc, _ := json.Marshal(targets[0].Target.Plugin)
	var raw map[string]any
	_ = json.Unmarshal(pc, &raw)
	for k, v := range raw {
		if v == "" || v == nil || v == float64(0) {
			delete(raw, k) // only the keys the snippet set
		}
	}
	pc, _ = json.Marshal(raw)
	t.Setenv("AWS_ENDPOINT_URL", sim.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDADMIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var group plugin.InstanceGroup
	if err := group.UnmarshalJSON(pc); err != nil {
		t.Fatal(err)
	}
	info, err := group.Init(ctx, nil, provider.Settings{ConnectorConfig: provider.ConnectorConfig{Username: "ec2-user"}})
	if err != nil {
		t.Fatalf("plugin Init rejected the setup (plugin_config %s): %v", pc, err)
	}
	defer func() { _ = group.Shutdown(context.Background()) }()
	if info.MaxSize != 10 {
		t.Fatalf("Init: %+v", info)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Done when: setup run twice changes nothing the second time.
func TestSetupTwiceChangesNothing(t *testing.T) {
	sim, cfg := newSim(t)
	if r := runCLI(t, cfg, setupArgs()...); r.code != 0 {
		t.Fatalf("setup: %s%s", r.stdout, r.stderr)
	}
	sim.ResetCalls()
	r := runCLI(t, cfg, setupArgs()...)
	if r.code != 0 || !strings.Contains(r.stdout, `Nothing to change: Auto Scaling group "runners" in us-east-1 is set up.`) {
		t.Fatalf("second setup exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if m := mutatingCalls(sim); len(m) != 0 {
		t.Fatalf("second setup changed things: %v", m)
	}
}

// Done when: --dry-run calls no mutating API, on an empty account and on
// a group that needs every kind of fix.
func TestDryRunCallsNoMutatingAPI(t *testing.T) {
	sim, cfg := newSim(t)
	r := runCLI(t, cfg, setupArgs("--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "(9 steps)") || !strings.Contains(r.stdout, "Dry run: nothing changed.") {
		t.Fatalf("dry run exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if m := mutatingCalls(sim); len(m) != 0 || len(sim.Groups()) != 0 || len(sim.Rules()) != 0 {
		t.Fatalf("dry run changed things: %v, groups %d, rules %v", m, len(sim.Groups()), sim.Rules())
	}

	seedBadGroup(t, sim, cfg)
	sim.ResetCalls()
	r = runCLI(t, cfg, setupArgs("--dry-run")...)
	for _, want := range []string{"~ update auto scaling group runners:", "scale-in protection false → true", "capacity rebalance true → false",
		"min size 1 → 0", "~ update scaling processes of runners", "- delete scaling policy cpu", "~ update instance protection of runners", "~ update tags of runners"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry-run plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if m := mutatingCalls(sim); len(m) != 0 {
		t.Fatalf("dry run changed things: %v", m)
	}
}

// seedBadGroup makes "runners" a group with every setup mistake.
func seedBadGroup(t *testing.T, sim *awssim.Sim, cfg aws.Config) {
	t.Helper()
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MinSize: 1, Desired: 1, MaxSize: 4, Unprotected: true, KeepAZRebalance: true, CapacityRebalance: true}); err != nil {
		t.Fatal(err)
	}
	asg := autoscaling.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := asg.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("runners"), PolicyName: aws.String("cpu"),
		AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unprotected instance", func() bool {
		for _, i := range sim.Instances() {
			if i.Group == "runners" && i.Lifecycle == "InService" {
				return true
			}
		}
		return false
	})
}

// An existing group with every mistake is fixed in one run; the next plan
// is empty and the plugin's checks pass.
func TestSetupFixesAnExistingGroup(t *testing.T) {
	sim, cfg := newSim(t)
	seedBadGroup(t, sim, cfg)
	r := runCLI(t, cfg, setupArgs()...)
	if r.code != 0 || strings.Contains(r.stdout, "warning:") {
		t.Fatalf("setup exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	g, _ := sim.Group("runners")
	if g.MinSize != 0 || !g.NewInstancesProtectedFromScaleIn || g.CapacityRebalance || len(g.Policies) != 0 || g.Mixed.LaunchTemplate.Name != "runners" {
		t.Fatalf("group not fixed: %+v", g)
	}
	for _, i := range sim.Instances() {
		if i.Group == "runners" && i.Lifecycle == "InService" && !i.ProtectedFromScaleIn {
			t.Fatalf("instance %s left unprotected", i.ID)
		}
	}
	results := admin.RunDoctor(context.Background(), admin.Target{Plugin: plugin.Config{Name: "runners"}}, func(context.Context, ec2spot.AWSOptions) (aws.Config, error) { return cfg, nil })
	for _, res := range results {
		if res.Status == admin.StatusFail {
			t.Errorf("doctor after the fix: %s", res)
		}
	}

	// A changed AMI is a new launch template version, and the group moves to it.
	r = runCLI(t, cfg, setupArgs("--ami", awssim.ImageLinuxAMD64, "--key-name", "ci")...)
	if !strings.Contains(r.stdout, "~ update launch template runners: new version 2 (key pair (none) → ci)") ||
		!strings.Contains(r.stdout, "→ the new version") {
		t.Fatalf("template change:\n%s", r.stdout)
	}
	g, _ = sim.Group("runners")
	if g.Mixed.LaunchTemplate.Version != "2" {
		t.Fatalf("group template %+v", g.Mixed.LaunchTemplate)
	}
}

// Problems that would fail half-way are reported before anything changes.
func TestSetupRejectsBadInputsBeforeChanging(t *testing.T) {
	sim, cfg := newSim(t)
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"setup", "--name", "x"}, "--ami: want an AMI id", admin.ExitUsage},
		{setupArgs("--on-demand-percentage", "120", "--spot-allocation-strategy", "cheapest"), "--on-demand-percentage: must be between 0 and 100", admin.ExitUsage},
		{setupArgs("--ami", "ami-0doesnotexist000"), "image ami-0doesnotexist000 not found in us-east-1", admin.ExitFailed},
		{setupArgs("--instance-types", "t3.micro,t4g.micro"), "t4g.micro (arm64)", admin.ExitFailed},
		{setupArgs("--subnets", "subnet-0000000000000000f"), "--subnets:", admin.ExitFailed},
		{setupArgs("--tag", "novalue"), "want KEY=VALUE", admin.ExitUsage},
	} {
		r := runCLI(t, cfg, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if m := mutatingCalls(sim); len(m) != 0 {
		t.Fatalf("rejected setups changed things: %v", m)
	}
}

// --config takes the flags' names in TOML or JSON; flags win.
func TestSetupConfigFile(t *testing.T) {
	_, cfg := newSim(t)
	dir := t.TempDir()
	tomlPath, jsonPath := filepath.Join(dir, "setup.toml"), filepath.Join(dir, "setup.json")
	writeFile(t, tomlPath, `
name = "runners"
ami = "`+awssim.ImageLinuxAMD64+`"
instance_types = ["t3.micro", "t3a.micro", "m5.large"]
subnets = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
max-size = 10
on_demand_base = 1
interruption_queue = "runners-events"
tag = { team = "ci" }
`)
	writeFile(t, jsonPath, `{"name":"runners","ami":"`+awssim.ImageLinuxAMD64+`","instance-types":"t3.micro,t3a.micro,m5.large",
"subnets":["subnet-00000000000000001","subnet-00000000000000002","subnet-00000000000000003"],"max_size":3,"on_demand_base":1,
"interruption_queue":"runners-events","tag":["team=ci"]}`)
	want := runCLI(t, cfg, setupArgs("--dry-run")...)
	fromTOML := runCLI(t, cfg, "setup", "--dry-run", "--config", tomlPath)
	fromJSON := runCLI(t, cfg, "setup", "--dry-run", "--config", jsonPath, "--max-size", "10")
	if fromTOML.stdout != want.stdout || fromJSON.stdout != want.stdout {
		t.Fatalf("config file plans differ from flags:\nflags:\n%s\ntoml (%s):\n%s\njson (%s):\n%s", want.stdout, fromTOML.stderr, fromTOML.stdout, fromJSON.stderr, fromJSON.stdout)
	}
	writeFile(t, jsonPath, `{"nmae":"x"}`)
	if r := runCLI(t, cfg, "setup", "--config", jsonPath); r.code != admin.ExitUsage || !strings.Contains(r.stderr, `unknown key "nmae"`) {
		t.Fatalf("unknown key: %d %s", r.code, r.stderr)
	}
}

// A Windows AMI gets a WinRM connector snippet.
func TestSetupWindowsSnippet(t *testing.T) {
	_, cfg := newSim(t)
	r := runCLI(t, cfg, setupArgs("--ami", awssim.ImageWindowsAMD64, "--dry-run")...)
	for _, want := range []string{`os = "windows"`, `protocol = "winrm"`, `username = "Administrator"`, "key_path"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("windows snippet lacks %q:\n%s", want, r.stdout)
		}
	}
}

// writeFile writes a test's config file (0600, like a real one).
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
