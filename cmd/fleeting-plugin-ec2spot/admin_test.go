package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// The binary serves setup and doctor itself and leaves everything else
// (version, bootstrap, the plugin) to fleeting.
func TestBinaryAdminCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sim, err := awssim.Start(awssim.Options{Speed: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	bin := buildPlugin(t)
	run := func(args ...string) (string, int) {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = []string{"AWS_ENDPOINT_URL=" + sim.URL(), "AWS_ACCESS_KEY_ID=AKIDBIN", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	args := []string{"setup", "--name", "bin", "--ami", awssim.ImageLinuxAMD64, "--instance-types", "t3.micro,m5.large",
		"--subnets", "subnet-00000000000000001,subnet-00000000000000002", "--max-size", "3"}
	if out, code := run(append(args, "--dry-run")...); code != 0 || !strings.Contains(out, "Dry run: nothing changed.") {
		t.Fatalf("setup --dry-run: exit %d\n%s", code, out)
	}
	if len(sim.Groups()) != 0 {
		t.Fatal("dry run created a group")
	}
	if out, code := run(args...); code != 0 || !strings.Contains(out, "done: create auto scaling group bin") {
		t.Fatalf("setup: exit %d\n%s", code, out)
	}
	if out, code := run("doctor", "--name", "bin"); code != 0 || !strings.Contains(out, "ok    group: bin exists") {
		t.Fatalf("doctor: exit %d\n%s", code, out)
	}
	if out, code := run("doctor", "--name", "missing"); code != 1 || !strings.Contains(out, "fail  group:") {
		t.Fatalf("doctor of a missing group: exit %d\n%s", code, out)
	}
	if out, code := run("setup", "--help"); code != 0 || !strings.Contains(out, "The identity running setup needs: autoscaling:CreateAutoScalingGroup") {
		t.Fatalf("setup --help: exit %d\n%s", code, out)
	}
	if out, code := run("version"); code != 0 || !strings.Contains(out, "fleeting-plugin-ec2spot") {
		t.Fatalf("version: exit %d\n%s", code, out)
	}
}
