package integration_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registryHost is the name the in-memory registry is reached by. It has no
// port: module.EscapePath rejects the ':' of "127.0.0.1:PORT" when the
// installer lays out and looks up plugins, so every connection is dialled to
// the listener instead (see useRegistry). 127.0.0.1 is spoken to over plain
// HTTP by go-containerregistry without any insecure option, and, unlike
// "localhost", has the '.' that keeps fleeting-artifact from prefixing
// registry.gitlab.com.
const registryHost = "127.0.0.1"

// testRegistry is go-containerregistry's in-memory registry behind HTTP
// basic auth, like a private project registry.
type testRegistry struct {
	srv            *httptest.Server
	user, password string
	unauthorized   atomic.Int64
}

// startRegistry serves the registry on a loopback listener and points
// go-containerregistry's process-wide remote.DefaultTransport at it (the
// releaser and installer build their clients with no options, so that is
// the only hook; fleetingcli does the same in its process). Restored in
// t.Cleanup; tests using it must not be parallel.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{user: "ci-user", password: "ci-password"}
	// A nil logger panics; the default logs every request.
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.password {
			r.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="test registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)

	listener := r.srv.Listener.Addr().String()
	orig := remote.DefaultTransport
	remote.DefaultTransport = &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != registryHost {
				return nil, fmt.Errorf("test registry transport: refusing to dial %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", listener)
		},
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	t.Cleanup(func() { remote.DefaultTransport = orig })
	return r
}

// tools runs the registry-side commands (internal/fleetingcli, built
// without -race) against a test registry.
type tools struct {
	bin, listener string
}

func buildTools(t *testing.T, dir string, reg *testRegistry) *tools {
	t.Helper()
	bin := filepath.Join(dir, "fleetingcli")
	if b, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./internal/fleetingcli").CombinedOutput(); err != nil {
		t.Fatalf("build fleetingcli: %v\n%s", err, b)
	}
	return &tools{bin: bin, listener: reg.srv.Listener.Addr().String()}
}

func (c *tools) run(args ...string) (string, error) {
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(context.Background(), c.bin, append([]string{"-listener", c.listener}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// release is `fleeting-artifact release -dir dist ref` (releaser.Release).
func (c *tools) release(t *testing.T, dist, ref string) {
	t.Helper()
	began := time.Now()
	digest, err := c.run("release", "-dir", dist, ref)
	if err != nil {
		t.Fatalf("release %s: %v", ref, err)
	}
	t.Logf("released %s as %s in %v", ref, digest, time.Since(began).Round(time.Millisecond))
}

// install is `gitlab-runner fleeting install [--upgrade]` for one plugin
// (see fleetingcli's Install): whether it installed, and the path the
// runner then resolves.
func (c *tools) install(plugin string, upgrade bool) (installed bool, path string, err error) {
	args := []string{"install"}
	if upgrade {
		args = append(args, "-upgrade")
	}
	out, err := c.run(append(args, plugin)...)
	if err != nil {
		return false, "", err
	}
	if p, ok := strings.CutPrefix(out, "installed "); ok {
		return true, p, nil
	}
	if p, ok := strings.CutPrefix(out, "skipped "); ok {
		return false, p, nil
	}
	return false, "", fmt.Errorf("fleetingcli install: unexpected output %q", out)
}

// releaserPlatformDir is the host's directory in fleeting-artifact's dist
// layout, or "" when the releaser has none for it without network access
// (windows/amd64 pulls a nanoserver base image; 32-bit ARM needs a variant).
func releaserPlatformDir() string {
	switch runtime.GOOS + "/" + runtime.GOARCH {
	case "linux/386", "linux/amd64", "linux/arm64", "linux/mips64le", "linux/ppc64le", "linux/riscv64", "linux/s390x",
		"freebsd/386", "freebsd/amd64", "freebsd/arm64", "darwin/amd64", "darwin/arm64":
		return runtime.GOOS + "/" + runtime.GOARCH
	}
	return ""
}

// buildDist builds the plugin for the host, version stamped like `make
// dist`, into <root>/<version>/<os>/<arch>/plugin and returns
// <root>/<version>, a one-platform dist directory. Unlike `make dist` it
// keeps cgo and paths (no CGO_ENABLED=0, no -trimpath): with the same
// flags as the test suite's other plugin builds it only links, where
// either flag would compile every dependency once more (minutes cold).
func buildDist(t *testing.T, root, version string) string {
	t.Helper()
	platform := releaserPlatformDir()
	dist := filepath.Join(root, version)
	out := filepath.Join(dist, filepath.FromSlash(platform), "plugin")
	cmd := exec.CommandContext(t.Context(), "go", "build",
		"-ldflags", "-s -w -X main.version="+version+" -X main.revision=e2etest -X main.buildDate=2026-01-02T03:04:05Z",
		"-o", out, "../cmd/fleeting-plugin-ec2spot")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build plugin %s: %v\n%s", version, err, b)
	}
	return dist
}

// pluginVersion runs `<bin> version` and returns the Version: line.
func pluginVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s version: no Version line in\n%s", bin, out)
	return ""
}
