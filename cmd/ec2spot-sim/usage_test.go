package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The printed exports, pasted into a shell, give every AWS client what it
// reads: the Go SDK and CLI v2 AWS_REGION, the CLI v1 AWS_DEFAULT_REGION
// (it ignores AWS_REGION), all of them the endpoint and credentials.
func TestUsageExportsServeEveryAWSClient(t *testing.T) {
	out := usage("http://127.0.0.1:4566", "eu-west-1")
	var exports []string
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "export ") {
			exports = append(exports, l)
		}
	}
	script := strings.Join(exports, "\n") + "\nenv\n"
	cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	env, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, script)
	}
	for _, want := range []string{
		"AWS_ENDPOINT_URL=http://127.0.0.1:4566",
		"AWS_REGION=eu-west-1",
		"AWS_DEFAULT_REGION=eu-west-1", // AWS CLI v1
		"AWS_ACCESS_KEY_ID=AKIASIMULATED0000000",
		"AWS_SECRET_ACCESS_KEY=simulated",
		"AWS_EC2_METADATA_DISABLED=true",
	} {
		if !strings.Contains("\n"+string(env), "\n"+want+"\n") {
			t.Errorf("the printed exports do not set %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "--endpoint-url http://127.0.0.1:4566") {
		t.Errorf("no --endpoint-url hint for clients without AWS_ENDPOINT_URL:\n%s", out)
	}
}
