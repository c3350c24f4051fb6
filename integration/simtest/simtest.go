// Package simtest starts the simulated AWS for tests and points the AWS SDK
// environment at it, so the plugin code under test (in process, or a plugin
// binary that inherits the environment) finds it like real AWS.
package simtest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Static fake credentials the environment carries; the simulator accepts
// any key unless a test configures Options.Credentials.
const (
	AccessKey = "AKIDSIMTEST0000000000"
	SecretKey = "simulated-secret"
)

// Start starts a simulator where instances boot and terminate within tens
// of milliseconds of real time (unless opts says otherwise), stops it when
// the test ends, and points the environment at it with t.Setenv.
func Start(t testing.TB, opts awssim.Options) *awssim.Sim {
	t.Helper()
	if opts.Speed == 0 {
		opts.Speed = 100
	}
	if opts.BootDelay == 0 {
		opts.BootDelay = 2 * time.Second
	}
	if opts.TerminateDelay == 0 {
		opts.TerminateDelay = 2 * time.Second
	}
	s, err := awssim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	PointEnvAt(t, s, AccessKey, SecretKey, "")
	return s
}

// PointEnvAt sets the SDK environment to reach s with the given
// credentials, and keeps shared files, profiles and instance metadata out.
func PointEnvAt(t testing.TB, s *awssim.Sim, accessKey, secretKey, sessionToken string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           accessKey,
		"AWS_SECRET_ACCESS_KEY":       secretKey,
		"AWS_SESSION_TOKEN":           sessionToken,
		"AWS_REGION":                  "us-east-1",
		"AWS_ENDPOINT_URL":            s.URL(),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             "/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
}

// LogBuffer is a goroutine-safe log sink.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Contains reports whether the log holds s.
func (b *LogBuffer) Contains(s string) bool { return strings.Contains(b.String(), s) }
