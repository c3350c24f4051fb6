package provider

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestInitReportsTheGroup(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, info := initPlugin(t, s, awssim.GroupSpec{MaxSize: 7}, provider.Settings{})
	if info.ID != "aws/us-east-1/runners" || info.MaxSize != 7 || info.Version == "" || !strings.Contains(info.BuildInfo, "go=") || len(info.Capabilities) != 0 {
		t.Errorf("ProviderInfo %+v", info)
	}
	for _, want := range []string{"instance group ready", "group=runners", "region=us-east-1", "max_size=7"} {
		if !p.log.Contains(want) {
			t.Errorf("log lacks %q:\n%s", want, p.log)
		}
	}
	if _, err := p.Suspend(testCtx(t), []string{"i-1"}); !errors.Is(err, provider.ErrSuspendResumeNotSupported) {
		t.Errorf("Suspend: %v", err)
	}
	if _, err := p.Resume(testCtx(t), []string{"i-1"}); !errors.Is(err, provider.ErrSuspendResumeNotSupported) {
		t.Errorf("Resume: %v", err)
	}
}

func TestInitFailuresSayWhatToDo(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config map[string]any
		setup  func(t *testing.T)
		want   []string
	}{
		{"missing group", map[string]any{"name": "runnres"}, nil,
			[]string{`auto scaling group "runnres" not found in region us-east-1: check plugin_config name and region`}},
		{"access denied", map[string]any{"name": "runners"}, func(*testing.T) {
			s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Code: "AccessDenied", Status: 403, Message: "not authorized", Count: 1})
		}, []string{"access denied calling autoscaling:DescribeAutoScalingGroups: grant this action to the runner manager's IAM identity"}},
		{"no region", map[string]any{"name": "runners"}, func(t *testing.T) {
			t.Setenv("AWS_REGION", "")
			t.Setenv("AWS_DEFAULT_REGION", "")
		}, []string{"no AWS region configured: set plugin_config region, AWS_REGION"}},
		{"no credentials", map[string]any{"name": "runners"}, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		}, []string{"no usable AWS credentials: give the runner manager an instance profile role"}},
		{"wrong region", map[string]any{"name": "runners", "region": "eu-west-1"}, nil,
			[]string{"calling autoscaling:DescribeAutoScalingGroups"}},
		{"bad config", map[string]any{"nmae": "runners", "retry_max_attempts": "3"}, nil,
			[]string{"invalid plugin config:", `unknown plugin config key "nmae" (did you mean "name"?)`, "missing required plugin config: name",
				`invalid plugin config value for "retry_max_attempts": want an integer, got string "3"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			p := newPlugin(t, tt.config)
			_, err := p.Init(testCtx(t), p.logger(), provider.Settings{})
			if err == nil {
				t.Fatal("Init succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if err := p.Update(testCtx(t), func(string, provider.State) {}); err == nil {
				t.Error("Update works after a failed Init")
			}
		})
	}
}

func TestInitSetupChecks(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MinSize: 1, Desired: 1, MaxSize: 3, Unprotected: true, KeepAZRebalance: true}); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, map[string]any{"name": "runners"})
	_, err := p.Init(testCtx(t), p.logger(), provider.Settings{})
	if err == nil {
		t.Fatal("Init accepted a misconfigured group")
	}
	for _, w := range []string{
		`auto scaling group "runners" is not set up for a runner:`,
		"scale_in_protection: scale-in protection is off",
		"fix: aws autoscaling update-auto-scaling-group --auto-scaling-group-name runners --new-instances-protected-from-scale-in",
		"az_rebalance: the AZRebalance process is not suspended",
		"fix: aws autoscaling suspend-processes --auto-scaling-group-name runners --scaling-processes AZRebalance",
		"min_size: MinSize is 1, not 0",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}

	// Warnings only: Init succeeds and logs them.
	s2 := fastSim(t, awssim.Options{})
	p2, _ := initPlugin(t, s2, awssim.GroupSpec{MaxSize: 3, CapacityRebalance: true}, provider.Settings{})
	if !p2.log.Contains("[WARN]  auto scaling group setup warning: group=runners region=us-east-1 check=capacity_rebalance") || !p2.log.Contains("--no-capacity-rebalance") {
		t.Errorf("capacity rebalance warning missing:\n%s", p2.log)
	}
}

func TestInitRequiresWindowsKey(t *testing.T) {
	p := newPlugin(t, map[string]any{"name": "runners"})
	_, err := p.Init(testCtx(t), p.logger(), provider.Settings{ConnectorConfig: provider.ConnectorConfig{OS: "windows"}})
	if err == nil || !strings.Contains(err.Error(), "missing connector_config key_path") {
		t.Fatalf("Init: %v", err)
	}
}

func TestShutdownDeletesNothing(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, provider.Settings{})
	p.waitRunning(t, 2)
	s.ResetCalls()
	if err := p.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for call, n := range s.Calls() {
		if n > 0 && !strings.Contains(call, "Describe") {
			t.Errorf("Shutdown called %s", call)
		}
	}
	if gr, _ := s.Group("runners"); gr.Desired != 2 {
		t.Errorf("desired = %d", gr.Desired)
	}
}

func TestInitWithProfileFiles(t *testing.T) {
	s := fastSim(t, awssim.Options{})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	configFile, credentialsFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(configFile, []byte("[profile ci]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credentialsFile, []byte("[ci]\naws_access_key_id = AKIDFROMPROFILE00000\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_REGION", "")
	p := newPlugin(t, map[string]any{"name": "runners", "profile": "ci", "config_file": configFile, "credentials_file": credentialsFile})
	info, err := p.Init(testCtx(t), p.logger(), provider.Settings{})
	if err != nil || info.ID != "aws/us-east-1/runners" {
		t.Fatalf("Init from profile files: %+v, %v", info, err)
	}
}
