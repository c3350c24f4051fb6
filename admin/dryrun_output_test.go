package admin_test

import (
	"strings"
	"testing"
)

// result is what setup prints after the plan: the config.toml snippet and
// the runner manager's IAM policy.
func result(t *testing.T, stdout string) string {
	t.Helper()
	i := strings.Index(stdout, "Add this to the [[runners]] entry")
	j := strings.Index(stdout, "Then run `gitlab-runner fleeting install`")
	if i < 0 || j < i {
		t.Fatalf("no snippet and policy in:\n%s", stdout)
	}
	return stdout[i:j]
}

// On an empty account the dry run prints the snippet and IAM policy the
// real run prints: the queue URL, the SQS statement and the account id,
// not placeholders.
func TestDryRunPrintsTheRealRunsSnippetAndPolicy(t *testing.T) {
	_, cfg := newSim(t)
	dry := runCLI(t, cfg, setupArgs("--dry-run")...)
	if dry.code != 0 {
		t.Fatalf("dry run exit %d:\n%s\n%s", dry.code, dry.stdout, dry.stderr)
	}
	applied := runCLI(t, cfg, setupArgs()...)
	if applied.code != 0 {
		t.Fatalf("setup exit %d:\n%s\n%s", applied.code, applied.stdout, applied.stderr)
	}
	got, want := result(t, dry.stdout), result(t, applied.stdout)
	if got != want {
		t.Errorf("dry run prints\n%s\nthe real run\n%s", got, want)
	}
	for _, must := range []string{`interruption_queue_url = "`, `"sqs:ReceiveMessage"`, ":123456789012:"} {
		if !strings.Contains(got, must) {
			t.Errorf("dry run lacks %q:\n%s", must, got)
		}
	}
	for _, placeholder := range []string{"ACCOUNT_ID", "QUEUE_ARN", "QUEUE_NAME", "REGION", "GROUP_NAME"} {
		if strings.Contains(got, placeholder) {
			t.Errorf("dry run keeps placeholder %s:\n%s", placeholder, got)
		}
	}
	if !strings.Contains(dry.stdout, "are the ones setup will create (account 123456789012, from the subnets' owner)") {
		t.Errorf("the dry run does not say the queue URL is predicted:\n%s", dry.stdout)
	}
}
