package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// buildPlugin builds this command with the Makefile's ldflags, once for
// all the tests of the package (a link is seconds to minutes on 2 loaded
// cores); the binary stays in binDir until TestMain removes it.
func buildPlugin(t *testing.T) string {
	t.Helper()
	bin, err := builtPlugin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	binDir      string
	builtPlugin = sync.OnceValues(func() (string, error) {
		bin := filepath.Join(binDir, "fleeting-plugin-ec2spot")
		cmd := exec.CommandContext(context.Background(), "go", "build", "-o", bin,
			"-ldflags", "-X main.version=1.2.3-test -X main.revision=abc1234 -X main.buildDate=2026-01-02T03:04:05Z", ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build: %w\n%s", err, out)
		}
		return bin, nil
	})
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fleeting-plugin-ec2spot-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildPlugin(t)

	t.Run("version", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("version: %v\n%s", err, out)
		}
		for _, want := range []string{"Name:         fleeting-plugin-ec2spot", "Version:      1.2.3-test", "Git revision: abc1234", "Built:        2026-01-02T03:04:05Z"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("version output lacks %q:\n%s", want, out)
			}
		}
	})

	// A person gets the commands; the runner (magic cookie set) gets
	// fleeting's plugin exactly as before.
	t.Run("help and a bare run list the commands", func(t *testing.T) {
		for _, tc := range []struct {
			args     []string
			code     int
			stdout   bool // usage on stdout (asked for) or stderr (a mistake)
			contains []string
		}{
			{[]string{"--help"}, 0, true, nil},
			{[]string{"-h"}, 0, true, nil},
			{[]string{"help"}, 0, true, nil},
			{nil, 2, false, []string{"the runner starts it"}},
			{[]string{"frobnicate"}, 2, false, []string{`unknown command "frobnicate"`}},
		} {
			cmd := exec.CommandContext(t.Context(), bin, tc.args...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"} // no go-plugin cookie: a person at a terminal
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			out := stderr.String()
			if tc.stdout {
				out = stdout.String()
			}
			if code != tc.code {
				t.Errorf("%q: exit %d, want %d\n%s%s", tc.args, code, tc.code, stdout.String(), stderr.String())
			}
			for _, want := range append([]string{"Usage: fleeting-plugin-ec2spot <command>", "\n  setup ", "\n  doctor ", "\n  version ", "\n  bootstrap "}, tc.contains...) {
				if !strings.Contains(out, want) {
					t.Errorf("%q: output lacks %q:\n%s", tc.args, want, out)
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "This binary is a plugin") {
				t.Errorf("%q: go-plugin's refusal instead of the usage", tc.args)
			}
		}
	})

	t.Run("handshake and strict config over gRPC", func(t *testing.T) {
		// AWS is never reached: the config is rejected first.
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		runner, err := fleeting.RunPlugin(bin, []byte(`{"name":"runners","regoin":"eu-west-1","retry_mode":"fast"}`))
		if err != nil {
			t.Fatalf("RunPlugin: %v", err)
		}
		defer runner.Kill()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = runner.InstanceGroup().Init(ctx, nil, provider.Settings{})
		if err == nil {
			t.Fatal("Init accepted an invalid config")
		}
		for _, want := range []string{
			"invalid plugin config:",
			`unknown plugin config key "regoin" (did you mean "region"?)`,
			`invalid plugin config value for "retry_mode": "fast" (want standard or adaptive)`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Init error lacks %q:\n%v", want, err)
			}
		}

		_, err = runner.InstanceGroup().Suspend(ctx, []string{"i-1"})
		if err == nil || !strings.Contains(err.Error(), "capability not supported") {
			t.Errorf("Suspend: %v", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("plugin did not answer")
		}
	})
}
