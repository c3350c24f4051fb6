// Package simtest starts the simulated AWS for tests. In-process tests hand
// its URL to their clients through an option (New, StaticEnv) and run in
// parallel; tests of a plugin binary that inherits the environment point
// the environment at it (Start).
package simtest

import (
	"bytes"
	"os"
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

// Start starts a simulator like New and points the environment at it with
// t.Setenv (so the test cannot run in parallel).
func Start(t testing.TB, opts awssim.Options) *awssim.Sim {
	t.Helper()
	s := New(t, opts)
	PointEnvAt(t, s, AccessKey, SecretKey, "")
	return s
}

// New starts a simulator where instances boot and terminate within tens
// of milliseconds of real time (unless opts says otherwise) and stops it
// when the test ends. It leaves the environment alone: the test gives
// s.URL() to its clients (ec2spot.AWSOptions.Endpoint), so tests with
// their own simulators run in parallel.
func New(t testing.TB, opts awssim.Options) *awssim.Sim {
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
	byTest.Store(t.Name(), s)
	t.Cleanup(func() { byTest.Delete(t.Name()) })
	return s
}

// byTest maps a test's name to the simulator it started with New; names
// are unique among the tests running at once.
var byTest sync.Map

// For returns the simulator t started with New, or the one of the test t
// runs under (its subtests share it); nil when there is none.
func For(t testing.TB) *awssim.Sim {
	for name := t.Name(); ; {
		if s, ok := byTest.Load(name); ok {
			return s.(*awssim.Sim)
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			return nil
		}
		name = name[:i]
	}
}

// Endpoint is For(t)'s URL, "" when t started no simulator.
func Endpoint(t testing.TB) string {
	if s := For(t); s != nil {
		return s.URL()
	}
	return ""
}

// staticEnv is what every simulated-AWS test shares: fake credentials and
// the region, with shared files, profiles and instance metadata kept out.
var staticEnv = map[string]string{
	"AWS_ACCESS_KEY_ID":           AccessKey,
	"AWS_SECRET_ACCESS_KEY":       SecretKey,
	"AWS_SESSION_TOKEN":           "",
	"AWS_REGION":                  "us-east-1",
	"AWS_EC2_METADATA_DISABLED":   "true",
	"AWS_PROFILE":                 "",
	"AWS_CONFIG_FILE":             "/nonexistent",
	"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}

// StaticEnv sets, once for a whole test binary (from TestMain), the
// environment every simulated-AWS test shares; it names no endpoint, so a
// client without one cannot reach real AWS by accident with real keys.
// Tests that change it use t.Setenv and stay sequential.
func StaticEnv() {
	for k, v := range staticEnv {
		_ = os.Setenv(k, v)
	}
}

// PointEnvAt sets the SDK environment to reach s with the given
// credentials, and keeps shared files, profiles and instance metadata out.
func PointEnvAt(t testing.TB, s *awssim.Sim, accessKey, secretKey, sessionToken string) {
	t.Helper()
	for k, v := range staticEnv {
		t.Setenv(k, v)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":     accessKey,
		"AWS_SECRET_ACCESS_KEY": secretKey,
		"AWS_SESSION_TOKEN":     sessionToken,
		"AWS_ENDPOINT_URL":      s.URL(),
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
