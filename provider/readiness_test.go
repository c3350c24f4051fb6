package provider

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// initWithConfig creates the group and initialises a plugin with the given
// plugin_config (name "runners" added).
func initWithConfig(t *testing.T, s *awssim.Sim, spec awssim.GroupSpec, settings provider.Settings, pc map[string]any) (testPlugin, error) {
	t.Helper()
	spec.Name = "runners"
	if err := s.CreateGroup(spec); err != nil {
		t.Fatal(err)
	}
	pc["name"] = "runners"
	// These tests run Updates back to back and count the checks of each;
	// the pacing of the checks is TestStatusChecksArePaced's (ec2spot).
	p := newPlugin(t, pc, func(o *ec2spot.GroupOptions) { o.StatusCheckEvery = 0 })
	_, err := p.Init(testCtx(t), p.logger(), settings)
	return p, err
}

// waitSim waits (real time) until cond holds for the simulator's instances.
func waitSim(t *testing.T, s *awssim.Sim, what string, cond func([]awssim.Instance) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(s.Instances()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func allInState(n int, lifecycle, ec2State string) func([]awssim.Instance) bool {
	return func(insts []awssim.Instance) bool {
		c := 0
		for _, i := range insts {
			if i.Lifecycle == lifecycle && i.State == ec2State {
				c++
			}
		}
		return c == n
	}
}

// With ready_when = "status-ok" an InService instance whose EC2 status
// checks are still initializing is reported creating and ConnectInfo
// refuses it; once the checks pass it is running and ConnectInfo works.
// With "running" (the old behaviour) the same instance is handed out at
// once. The gate costs one DescribeInstanceStatus per Update for all
// waiting instances together, and none once no instance waits; the group
// itself is not described again while only the checks are awaited.
func TestReadyWhenStatusOKHoldsInstancesUntilStatusChecksPass(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"running", "status-ok"} {
		t.Run(mode, func(t *testing.T) {
			s := fastSim(t, awssim.Options{SSH: &awssim.SSHOptions{}, StatusCheckDelay: 24 * time.Hour})
			settings := provider.Settings{ConnectorConfig: provider.ConnectorConfig{Timeout: 5 * time.Second, ProtocolPort: 0}}
			p, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 3, Desired: 2}, settings, map[string]any{"ready_when": mode})
			if err != nil {
				t.Fatalf("Init: %v", err)
			}
			waitSim(t, s, "2 InService instances", allInState(2, "InService", "running"))
			settings.ProtocolPort = s.SSHPort() // known once a host runs
			p.settings = settings

			s.ResetCalls()
			const updates = 3
			for range updates {
				for id, st := range p.states(t) {
					want := provider.StateCreating
					if mode == "running" {
						want = provider.StateRunning
					}
					if st != want {
						t.Fatalf("%s with status checks initializing: reported %s, want %s", id, st, want)
					}
					info, err := p.ConnectInfo(testCtx(t), id)
					switch {
					case mode == "status-ok" && err == nil:
						t.Fatalf("ConnectInfo(%s) succeeded before the status checks passed", id)
					case mode == "status-ok" && !strings.Contains(err.Error(), "status checks have not passed"):
						t.Fatalf("ConnectInfo(%s): %v, want it to say the status checks have not passed", id, err)
					case mode == "running" && err != nil:
						t.Fatalf("ConnectInfo(%s) with ready_when = running: %v", id, err)
					case mode == "running":
						if err := sshLogin(info); err != nil {
							t.Fatalf("ssh: %v", err)
						}
					}
				}
			}
			wantCalls := 0
			if mode == "status-ok" {
				wantCalls = updates // one per Update for both instances
			}
			if n := s.CallCount("ec2", "DescribeInstanceStatus"); n != wantCalls {
				t.Fatalf("%d DescribeInstanceStatus calls in %d Updates with 2 instances waiting, want %d", n, updates, wantCalls)
			}
			// Nothing moves in the group while the checks run: the waiting
			// Updates (fleeting's 2 s pace) reuse the snapshot instead of
			// describing the group each time.
			if n := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); mode == "status-ok" && n > 1 {
				t.Fatalf("%d group describes in %d Updates while only status checks were awaited, want at most 1", n, updates)
			}
			if mode == "running" {
				return
			}

			s.SetStatusCheckDelay(-1) // the checks pass
			s.ResetCalls()
			got := p.states(t)
			for id, st := range got {
				if st != provider.StateRunning {
					t.Fatalf("%s after its status checks passed: %s", id, st)
				}
				info, err := p.ConnectInfo(testCtx(t), id)
				if err != nil {
					t.Fatalf("ConnectInfo(%s) after the checks passed: %v", id, err)
				}
				if err := sshLogin(info); err != nil {
					t.Fatalf("ssh: %v", err)
				}
			}
			for range updates {
				p.states(t)
			}
			if n := s.CallCount("ec2", "DescribeInstanceStatus"); n != 1 {
				t.Fatalf("%d DescribeInstanceStatus calls, want 1 (the Update that saw them pass, none once nothing waits)", n)
			}
		})
	}
}

// A failing DescribeInstanceStatus keeps waiting instances creating (never
// running unchecked) and does not fail the Update.
func TestReadyWhenStatusOKKeepsInstancesCreatingWhenTheCheckFails(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{StatusCheckDelay: -1})
	p, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1}, provider.Settings{}, map[string]any{"ready_when": "status-ok"})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	waitSim(t, s, "an InService instance", allInState(1, "InService", "running"))
	s.InjectFault(awssim.Fault{Service: "ec2", Action: "DescribeInstanceStatus", Code: "InternalError", Status: 500})
	for id, st := range p.states(t) {
		if st != provider.StateCreating {
			t.Fatalf("%s reported %s while its status could not be read", id, st)
		}
	}
	if !p.log.Contains("checking the status checks of new instances failed") {
		t.Errorf("failure not logged:\n%s", p.log)
	}
	s.ClearFaults()
	for id, st := range p.states(t) {
		if st != provider.StateRunning {
			t.Fatalf("%s after the fault cleared: %s", id, st)
		}
	}
}

// No instances: no DescribeInstanceStatus at all after Init's one DryRun
// permission probe.
func TestReadyWhenStatusOKCallsNothingWithoutWaitingInstances(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 2}, provider.Settings{}, map[string]any{"ready_when": "status-ok"})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	if n := s.CallCount("ec2", "DescribeInstanceStatus"); n != 1 {
		t.Fatalf("Init made %d DescribeInstanceStatus calls, want its one permission probe", n)
	}
	s.ResetCalls()
	for range 3 {
		p.states(t)
	}
	if n := s.CallCount("ec2", "DescribeInstanceStatus"); n != 0 {
		t.Fatalf("%d DescribeInstanceStatus calls with no instance, want 0", n)
	}
}

// With ready_when = "lifecycle-hook", Init refuses a group without a launch
// hook and says how to create it; with one, an instance whose user data has
// not completed the hook is Pending:Wait, reported creating and refused by
// ConnectInfo, and becomes running once the instance completes the hook.
func TestReadyWhenLifecycleHookReportsCreatingUntilTheInstanceCompletesTheHook(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{UserDataDelay: -1})
	_, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 2}, provider.Settings{}, map[string]any{"ready_when": "lifecycle-hook"})
	if err == nil || !strings.Contains(err.Error(), "no launch lifecycle hook") || !strings.Contains(err.Error(), "setup --ready-hook") ||
		!strings.Contains(err.Error(), "put-lifecycle-hook --auto-scaling-group-name runners") || !strings.Contains(err.Error(), "complete-lifecycle-action") {
		t.Fatalf("Init without a launch hook: %v", err)
	}

	ctx := testCtx(t)
	op := autoscaling.NewFromConfig(awsConfigFor(t))
	if _, err := op.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("runners"), LifecycleHookName: aws.String("fleeting-ready"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(900), DefaultResult: aws.String("ABANDON"),
	}); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, map[string]any{"name": "runners", "ready_when": "lifecycle-hook"})
	if _, err := p.Init(ctx, p.logger(), provider.Settings{}); err != nil {
		t.Fatalf("Init with the hook: %v", err)
	}
	if n, err := p.Increase(ctx, 1); n != 1 || err != nil {
		t.Fatalf("Increase: %d, %v", n, err)
	}
	waitSim(t, s, "a booted instance held by the hook", allInState(1, "Pending:Wait", "running"))
	s.Advance(time.Minute) // well past the boot: only the hook holds it
	for id, st := range p.states(t) {
		if st != provider.StateCreating {
			t.Fatalf("%s in Pending:Wait reported %s", id, st)
		}
		if _, err := p.ConnectInfo(ctx, id); err == nil || !strings.Contains(err.Error(), "launch lifecycle hook") {
			t.Fatalf("ConnectInfo(%s) in Pending:Wait: %v", id, err)
		}
	}
	s.SetUserDataDelay(0) // the user data finishes and completes the hook
	waitSim(t, s, "the instance in service", allInState(1, "InService", "running"))
	for id, st := range p.states(t) {
		if st != provider.StateRunning {
			t.Fatalf("%s after completing the hook: %s", id, st)
		}
	}
	if n := s.CallCount("ec2", "DescribeInstanceStatus"); n != 0 {
		t.Errorf("lifecycle-hook mode made %d DescribeInstanceStatus calls", n)
	}
}

// The README's ready_when example goes through the runner's path (TOML →
// JSON → the plugin's strict decoding), validates, and names a mode the
// plugin accepts; the README documents every accepted value.
func TestREADMEReadyWhenExampleIsValid(t *testing.T) {
	blocks, err := readme.CodeBlocks("toml")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, b := range blocks {
		if !strings.Contains(b, "ready_when") || strings.Contains(b, "[[runners]]") {
			continue
		}
		found++
		var doc struct {
			Runners struct {
				Autoscaler struct {
					PluginConfig map[string]any `toml:"plugin_config"`
				}
			}
		}
		if _, err := toml.Decode(b, &doc); err != nil {
			t.Fatalf("README ready_when example does not parse: %v\n%s", err, b)
		}
		raw, err := json.Marshal(doc.Runners.Autoscaler.PluginConfig)
		if err != nil {
			t.Fatal(err)
		}
		var g InstanceGroup
		if err := json.Unmarshal(raw, &g); err != nil || len(g.configErrs) > 0 {
			t.Fatalf("plugin_config %s: %v %v", raw, err, g.configErrs)
		}
		g.config.applyDefaults()
		if errs := g.config.validate(); len(errs) > 0 {
			t.Fatalf("plugin_config %s invalid: %v", raw, errs)
		}
		if g.config.ReadyWhen != string(ec2spot.ReadyStatusOK) {
			t.Errorf("the example sets ready_when = %q, want the status-ok example", g.config.ReadyWhen)
		}
	}
	if found != 1 {
		t.Fatalf("README has %d plugin_config examples with ready_when, want 1", found)
	}
	text, err := os.ReadFile(readme.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ec2spot.ReadyWhenValues {
		if !strings.Contains(string(text), "| `"+string(v)+"`") {
			t.Errorf("README's readiness table has no row for %q", v)
		}
	}
}

// A gate the runner manager may not read would hold every instance
// creating for good, so Init names the denied action instead; in the
// default mode the action is neither needed nor probed.
func TestReadyWhenInitFailsWhenTheGateCannotBeRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ mode, service, action string }{
		{"status-ok", "ec2", "DescribeInstanceStatus"},
		{"lifecycle-hook", "autoscaling", "DescribeLifecycleHooks"},
		{"running", "ec2", "DescribeInstanceStatus"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			denyAccess(s, tc.service, tc.action)
			_, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 2}, provider.Settings{}, map[string]any{"ready_when": tc.mode})
			if tc.mode == "running" {
				if err != nil || s.CallCount(tc.service, tc.action) != 0 {
					t.Fatalf("Init with ready_when = running: %v, %d calls of %s", err, s.CallCount(tc.service, tc.action), tc.action)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.service+":"+tc.action) || !strings.Contains(err.Error(), "missing IAM permissions") {
				t.Fatalf("Init with %s denied: %v", tc.action, err)
			}
		})
	}
}

// An instance whose status checks fail is never handed out, and the log
// says so once, not at every Update.
func TestReadyWhenStatusOKWarnsOnceAboutAnImpairedInstance(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{StatusCheckDelay: -1})
	p, err := initWithConfig(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1}, provider.Settings{}, map[string]any{"ready_when": "status-ok"})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	waitSim(t, s, "an InService instance", allInState(1, "InService", "running"))
	id := s.Instances()[0].ID
	if err := s.SetStatusImpaired(id, true); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if st := p.states(t)[id]; st != provider.StateCreating {
			t.Fatalf("impaired instance reported %s", st)
		}
	}
	if n := strings.Count(p.log.String(), "instance failed its EC2 status checks (impaired)"); n != 1 {
		t.Errorf("impaired warnings = %d, want 1:\n%s", n, p.log)
	}
	if err := s.SetStatusImpaired(id, false); err != nil {
		t.Fatal(err)
	}
	if st := p.states(t)[id]; st != provider.StateRunning {
		t.Fatalf("after recovering: %s", st)
	}
}
