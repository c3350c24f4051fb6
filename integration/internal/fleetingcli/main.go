// Command fleetingcli stands in, for the distribution test, for the two
// command lines that talk to an OCI registry: `fleeting-artifact release`
// (run by CI on tags) and `gitlab-runner fleeting install [--upgrade]`. It
// calls fleeting-artifact's releaser and installer the way those do, with
// go-containerregistry's process-wide transport pointed at the test
// registry's listener, so that the registry can be named by the port-less
// 127.0.0.1 the installer's directory layout requires.
//
// It is a separate, plain (non -race) process because the releaser
// gzips the ~50 MB plugin binary and the installer gunzips it, about ten
// times slower under the race detector.
//
//	fleetingcli -listener ADDR release -dir DIST NAME:VERSION
//	fleetingcli -listener ADDR install [-upgrade] PLUGIN
//
// install prints "installed PATH" or "skipped PATH", PATH being what the
// runner's LookPath resolves afterwards (FLEETING_PLUGIN_PATH and
// DOCKER_CONFIG come from the environment, as for the runner).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gitlab.com/gitlab-org/fleeting/fleeting-artifact/pkg/installer"
	"gitlab.com/gitlab-org/fleeting/fleeting-artifact/pkg/releaser"
)

// RegistryHost is the only host the transport dials (to the listener).
const RegistryHost = "127.0.0.1"

func main() {
	listener := flag.String("listener", "", "address the test registry listens on")
	flag.Parse()
	if *listener == "" || flag.NArg() < 1 {
		fail(errors.New("usage: fleetingcli -listener ADDR release|install ARGS"))
	}
	remote.DefaultTransport = Transport(*listener)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch cmd, args := flag.Arg(0), flag.Args()[1:]; cmd {
	case "release":
		fs := flag.NewFlagSet("release", flag.ExitOnError)
		dir := fs.String("dir", "./dist", "distribution directory")
		_ = fs.Parse(args)
		if fs.NArg() != 1 {
			fail(errors.New("release: want NAME:VERSION"))
		}
		digest, err := releaser.Release(ctx, fs.Arg(0), releaser.WithDirectory(*dir),
			releaser.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			fail(err)
		}
		fmt.Println(digest)
	case "install":
		fs := flag.NewFlagSet("install", flag.ExitOnError)
		upgrade := fs.Bool("upgrade", false, "install even when a matching version is installed")
		_ = fs.Parse(args)
		if fs.NArg() != 1 {
			fail(errors.New("install: want PLUGIN"))
		}
		installed, path, err := Install(ctx, fs.Arg(0), *upgrade)
		if err != nil {
			fail(err)
		}
		if installed {
			fmt.Println("installed", path)
		} else {
			fmt.Println("skipped", path)
		}
	default:
		fail(fmt.Errorf("unknown command %q", cmd))
	}
}

// Install is `gitlab-runner fleeting install [--upgrade]` for one `plugin =`
// value: without upgrade it skips the plugin whenever LookPath answers
// anything but ErrPluginNotFound; otherwise installer.Install. It returns
// whether it installed and what LookPath then resolves.
func Install(ctx context.Context, plugin string, upgrade bool) (installed bool, path string, err error) {
	if !upgrade {
		if p, err := installer.LookPath(plugin, ""); !errors.Is(err, installer.ErrPluginNotFound) {
			return false, p, err
		}
	}
	if err := installer.Install(ctx, plugin); err != nil {
		return false, "", fmt.Errorf("install %s: %w", plugin, err)
	}
	p, err := installer.LookPath(plugin, "")
	if err != nil {
		return true, "", fmt.Errorf("installed %s, then: %w", plugin, err)
	}
	return true, p, nil
}

// Transport dials every connection to RegistryHost to listener.
func Transport(listener string) http.RoundTripper {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != RegistryHost {
				return nil, fmt.Errorf("test registry transport: refusing to dial %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", listener)
		},
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
