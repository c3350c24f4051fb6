package admin_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// setup --ready-hook plans the launch hook (dry run changes nothing),
// creates it once, leaves it alone when it matches, updates what differs,
// and prints the user-data line that completes it, the instance role's
// permission and ready_when in the snippet; doctor then passes the hook.
func TestSetupReadyHook(t *testing.T) {
	sim, cfg := newSim(t)
	dry := runCLI(t, cfg, setupArgs("--ready-hook", "--dry-run")...)
	if dry.code != 0 {
		t.Fatalf("dry run exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	for _, want := range []string{
		"+ create lifecycle hook fleeting-ready of runners: autoscaling:EC2_INSTANCE_LAUNCHING, heartbeat timeout 900s, default result ABANDON",
		`ready_when = "lifecycle-hook"`,
		`TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&`,
		"aws autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE",
		`--instance-id "$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)"`,
		"--lifecycle-hook-name fleeting-ready --auto-scaling-group-name runners",
		"The instances' own role (their instance profile, not the runner manager) needs",
		`"Action": "autoscaling:CompleteLifecycleAction", "Resource": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/runners"`,
	} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry.stdout)
		}
	}
	if m := mutatingCalls(sim); len(m) != 0 {
		t.Fatalf("dry run changed things: %v", m)
	}

	if r := runCLI(t, cfg, setupArgs("--ready-hook")...); r.code != 0 {
		t.Fatalf("setup exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	hooks, err := sim.LifecycleHooks("runners")
	if err != nil || len(hooks) != 1 || hooks[0].Name != "fleeting-ready" || hooks[0].Transition != awssim.TransitionLaunching ||
		hooks[0].HeartbeatTimeout != 900 || hooks[0].DefaultResult != "ABANDON" {
		t.Fatalf("hook after setup: %+v %v", hooks, err)
	}
	again := runCLI(t, cfg, setupArgs("--ready-hook")...)
	if again.code != 0 || !strings.Contains(again.stdout, "Nothing to change") || sim.CallCount("autoscaling", "PutLifecycleHook") != 1 {
		t.Fatalf("second setup (exit %d, %d puts):\n%s", again.code, sim.CallCount("autoscaling", "PutLifecycleHook"), again.stdout)
	}
	shorter := runCLI(t, cfg, setupArgs("--ready-hook", "--ready-hook-timeout", "10m")...)
	if !strings.Contains(shorter.stdout, "~ update lifecycle hook fleeting-ready of runners: heartbeat timeout 900s → 600s") {
		t.Fatalf("changed timeout:\n%s", shorter.stdout)
	}
	if hooks, _ := sim.LifecycleHooks("runners"); hooks[0].HeartbeatTimeout != 600 {
		t.Fatalf("timeout after the update: %+v", hooks)
	}

	d := runCLI(t, cfg, "doctor", "--config", snippetConfig(t, again.stdout))
	if d.code != 0 || !strings.Contains(d.stdout, "ok    launch_hook: launch hook fleeting-ready (heartbeat timeout 10m0s, default result ABANDON)") ||
		!strings.Contains(d.stdout, "ok    iam:autoscaling:DescribeLifecycleHooks: allowed") {
		t.Fatalf("doctor after setup --ready-hook (exit %d):\n%s", d.code, d.stdout)
	}

	win := runCLI(t, cfg, setupArgs("--ready-hook", "--dry-run", "--ami", awssim.ImageWindowsAMD64)...)
	if !strings.Contains(win.stdout, "$token = Invoke-RestMethod -Method Put -Uri http://169.254.169.254/latest/api/token") ||
		!strings.Contains(win.stdout, "aws autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE --instance-id $id --region $region --lifecycle-hook-name 'fleeting-ready' --auto-scaling-group-name 'runners'") ||
		strings.Contains(win.stdout, "curl") {
		t.Errorf("Windows user data:\n%s", win.stdout)
	}

	bad := runCLI(t, cfg, setupArgs("--ready-hook", "--ready-hook-timeout", "5s")...)
	if bad.code != admin.ExitUsage || !strings.Contains(bad.stderr, "--ready-hook-timeout: 5s: AWS accepts whole seconds from 30s to 2h") {
		t.Fatalf("5s timeout: exit %d %s", bad.code, bad.stderr)
	}
}

// doctor's launch_hook check: skipped unless ready_when = "lifecycle-hook";
// then a missing hook fails with how to create it, a CONTINUE default or an
// odd timeout warns, each with the command that fixes it.
func TestDoctorChecksTheLaunchHook(t *testing.T) {
	w := setUp(t)
	r := resultsByCheck(w.doctor())[ec2spot.CheckLaunchHook]
	if r.Status != admin.StatusSkip || !strings.Contains(r.Message, `ready_when is "running"`) {
		t.Fatalf("default ready_when: %s", r)
	}
	w.target.Plugin.ReadyWhen = "status-ok"
	got := resultsByCheck(w.doctor())
	if r := got[ec2spot.CheckLaunchHook]; r.Status != admin.StatusSkip {
		t.Errorf("status-ok: %s", r)
	}
	if r := got["iam:ec2:DescribeInstanceStatus"]; r.Status != admin.StatusOK || r.Message != "allowed" {
		t.Errorf("status-ok probes DescribeInstanceStatus: %s", r)
	}

	w.target.Plugin.ReadyWhen = "lifecycle-hook"
	r = resultsByCheck(w.doctor())[ec2spot.CheckLaunchHook]
	if r.Status != admin.StatusFail || !strings.Contains(r.Message, "no launch lifecycle hook") || !strings.Contains(r.Fix, "setup --ready-hook") {
		t.Fatalf("no hook: %s", r)
	}
	w.must(w.asg().PutLifecycleHook(context.Background(), &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("runners"), LifecycleHookName: aws.String("boot"),
		LifecycleTransition: aws.String(ec2spot.LaunchTransition), HeartbeatTimeout: aws.Int32(60), DefaultResult: aws.String("CONTINUE"),
	}))
	var warns []string
	for _, r := range w.doctor() {
		if r.Check == ec2spot.CheckLaunchHook {
			if r.Status != admin.StatusWarn {
				t.Errorf("odd hook: %s", r)
			}
			warns = append(warns, r.String())
		}
	}
	all := strings.Join(warns, "\n")
	if len(warns) != 2 || !strings.Contains(all, "default result CONTINUE") || !strings.Contains(all, "--default-result ABANDON") ||
		!strings.Contains(all, "times out after 1m0s") || !strings.Contains(all, "--heartbeat-timeout 900") {
		t.Fatalf("CONTINUE hook with a 60 s timeout:\n%s", all)
	}
}

// doctor compares the hook's timeout with how long recent launches took
// to come in service (the hook wait included).
func TestDoctorWarnsWhenLaunchesComeCloseToTheHookTimeout(t *testing.T) {
	w := setUp(t)
	w.target.Plugin.ReadyWhen = "lifecycle-hook"
	ctx := context.Background()
	w.must(w.asg().PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("runners"), LifecycleHookName: aws.String("fleeting-ready"),
		LifecycleTransition: aws.String(ec2spot.LaunchTransition), HeartbeatTimeout: aws.Int32(30), DefaultResult: aws.String("CONTINUE"),
	}))
	w.sim.SetUserDataDelay(10 * time.Second) // boot 22.5 s + 10 s of user data: past the timeout
	w.must(w.asg().SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(1)}))
	waitFor(t, "an instance in service", func() bool {
		for _, i := range w.sim.Instances() {
			if i.Lifecycle == "InService" {
				return true
			}
		}
		return false
	})
	var got []string
	for _, r := range w.doctor() {
		if r.Check == ec2spot.CheckLaunchHook {
			got = append(got, r.String())
		}
	}
	all := strings.Join(got, "\n")
	// The launch took the 30 s timeout (to the second, as activities tell).
	if !regexp.MustCompile(`recent launches took up to 3[0-3]s to come in service, close to launch hook fleeting-ready's heartbeat timeout 30s; fix: .* --heartbeat-timeout 60\b`).MatchString(all) {
		t.Fatalf("launch hook results:\n%s", all)
	}
}
