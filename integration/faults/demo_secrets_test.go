package faults_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// The demo's plugin log (every plugin line, jobs connected over EC2
// Instance Connect) holds no secret either: neither the secret key the
// demo gives the plugin nor anything secret-shaped.
func TestDemoLogHoldsNoSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	// The demo sets the AWS variables process-wide; put them back after.
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(k, os.Getenv(k))
	}
	dir := t.TempDir()
	_, err := demo.Run(context.Background(), demo.Config{
		Plugin: pluginBin, OutDir: dir, Modes: []workload.Mode{workload.Ours},
		Tweak: func(sc *workload.Scenario) {
			sc.Speed = 60
			sc.Workload = workload.Steady{PerMinute: 2, MeanDuration: time.Minute, Window: 3 * time.Minute}
		},
	}, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "*.log"))
	more, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	logs = append(logs, more...)
	if len(logs) == 0 {
		t.Fatalf("no plugin log under %s", dir)
	}
	size := 0
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		size += len(b)
		// The demo's secret key (integration/workload) and its shapes.
		if found := scanSecrets(string(b), "sim-secret"); len(found) > 0 {
			t.Errorf("secrets in %s: %v", filepath.Base(l), found)
		}
	}
	t.Logf("scanned %d demo logs, %d bytes", len(logs), size)
}
