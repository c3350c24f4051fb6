package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting-artifact/pkg/installer"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

const (
	// What users write as `plugin =` (and what CI releases to, there as
	// $CI_REGISTRY_IMAGE), with the test registry's port-less name.
	stableRepo     = registryHost + "/ns/fleeting-plugin-ec2spot"
	prereleaseRepo = stableRepo + "/prerelease"
)

// TestDistribution releases the plugin with fleeting-artifact's releaser to
// an in-memory OCI registry, installs it the way `gitlab-runner fleeting
// install` does, resolves it by name the way the runner does, and runs the
// installed binary through fleeting against the simulated AWS. The subtests
// run in order and build on each other's releases. Not parallel: it
// replaces go-containerregistry's process-wide transport.
func TestDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and runs a registry")
	}
	if releaserPlatformDir() == "" {
		t.Skipf("no offline fleeting-artifact platform for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	start := time.Now()
	root := t.TempDir()
	dists := map[string]string{}
	for _, v := range []string{"1.2.3", "1.3.0", "2.0.0-rc.1"} {
		dists[v] = buildDist(t, root, v)
	}

	reg := startRegistry(t)
	cli := buildTools(t, root, reg)
	t.Logf("built 3 host plugins and fleetingcli in %v", time.Since(start).Round(time.Millisecond))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
	release := func(t *testing.T, ref, version string) {
		t.Helper()
		cli.release(t, dists[version], ref)
	}
	install := cli.install

	t.Run("login", func(t *testing.T) {
		// Private registry: nothing works before `fleeting login`.
		if _, _, err := install(stableRepo+":1", false); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Fatalf("install before login: got %v, want an UNAUTHORIZED error", err)
		}
		// `gitlab-runner fleeting login` and `fleeting-artifact login` (CI)
		// both store Docker CLI credentials with installer.Login.
		via, err := installer.Login(registryHost, reg.user, reg.password)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"); via != want {
			t.Errorf("login wrote %s, want %s", via, want)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
		release(t, stableRepo+":1.2.3", "1.2.3")
		installed, path, err := install(stableRepo+":1", false)
		if err != nil || !installed {
			t.Fatalf("install :1 = %v, %v", installed, err)
		}
		wantPath(t, path, stableRepo, "1.2.3")

		// A newer release does not reach an installed `:1` without --upgrade.
		release(t, stableRepo+":1.3.0", "1.3.0")
		if installed, path, err = install(stableRepo+":1", false); err != nil || installed {
			t.Fatalf("second install :1 = %v, %v; want skipped", installed, err)
		}
		wantPath(t, path, stableRepo, "1.2.3")
		if installed, path, err = install(stableRepo+":1", true); err != nil || !installed {
			t.Fatalf("install --upgrade :1 = %v, %v", installed, err)
		}
		wantPath(t, path, stableRepo, "1.3.0")
		if got := pluginVersion(t, path); got != "1.3.0" {
			t.Errorf("upgraded binary says version %q", got)
		}
		// The old version stays installed and pinnable.
		resolve(t, stableRepo+":1.2", stableRepo, "1.2.3")
		resolve(t, stableRepo+":1.2.3", stableRepo, "1.2.3")
		resolve(t, stableRepo+":latest", stableRepo, "1.3.0")

		// Installed as the installing user only, hence "install as the
		// runner's user".
		if runtime.GOOS != "windows" {
			info, err := os.Stat(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o700 {
				t.Errorf("version directory mode %v, want 0700", perm)
			}
		}
	})

	t.Run("aliases", func(t *testing.T) {
		tags := listTags(t, stableRepo)
		if want := []string{"1", "1.2", "1.2.3", "1.3", "1.3.0", "latest"}; !slices.Equal(tags, want) {
			t.Errorf("tags %v, want %v", tags, want)
		}
		for alias, version := range map[string]string{"latest": "1.3.0", "1": "1.3.0", "1.3": "1.3.0", "1.2": "1.2.3"} {
			if a, v := digestOf(t, stableRepo+":"+alias), digestOf(t, stableRepo+":"+version); a != v {
				t.Errorf("alias %s = %s, want %s's %s", alias, a, version, v)
			}
		}
	})

	t.Run("constraints", func(t *testing.T) {
		for _, c := range []struct{ plugin, version string }{
			{stableRepo + ":1", "1.3.0"},
			{stableRepo + ":1.2", "1.2.3"},
			{stableRepo + ":latest", "1.3.0"},
			{stableRepo, "1.3.0"}, // no tag = latest
			{stableRepo + ":1.2.3", "1.2.3"},
		} {
			// A fresh plugin directory each: only this constraint installed.
			t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
			installed, path, err := install(c.plugin, false)
			if err != nil || !installed {
				t.Fatalf("install %s = %v, %v", c.plugin, installed, err)
			}
			wantPath(t, path, stableRepo, c.version)
			if got := pluginVersion(t, path); got != c.version {
				t.Errorf("%s: installed binary says version %q, want %q", c.plugin, got, c.version)
			}
		}
		if _, _, err := install(stableRepo+":1.4", false); err == nil {
			t.Error("install :1.4 succeeded with no 1.4 released")
		}
	})

	t.Run("prerelease", func(t *testing.T) {
		t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
		release(t, prereleaseRepo+":2.0.0-rc.1", "2.0.0-rc.1")
		// The stable repository's aliases did not move.
		if a, v := digestOf(t, stableRepo+":latest"), digestOf(t, stableRepo+":1.3.0"); a != v {
			t.Errorf("stable latest moved to %s", a)
		}
		for _, c := range []string{"1", "latest", "1.2.3"} {
			if _, _, err := install(stableRepo+":"+c, false); err != nil {
				t.Fatal(err)
			}
		}
		installed, path, err := install(prereleaseRepo+":2.0.0-rc.1", false)
		if err != nil || !installed {
			t.Fatalf("install prerelease = %v, %v", installed, err)
		}
		wantPath(t, path, prereleaseRepo, "2.0.0-rc.1")
		if got := pluginVersion(t, path); got != "2.0.0-rc.1" {
			t.Errorf("prerelease binary says %q", got)
		}
		// Only the exact string selects a prerelease, installed or not.
		for _, c := range []string{":2", ":2.0", ":latest", ""} {
			if _, err := installer.LookPath(prereleaseRepo+c, ""); !errors.Is(err, installer.ErrPluginNotFound) {
				t.Errorf("LookPath(%s%s) = %v, want ErrPluginNotFound", prereleaseRepo, c, err)
			}
		}
		// Installing the prerelease changes nothing for stable names.
		resolve(t, stableRepo+":latest", stableRepo, "1.3.0")
		resolve(t, stableRepo+":1", stableRepo, "1.3.0")
		if _, err := installer.LookPath(stableRepo+":2", ""); !errors.Is(err, installer.ErrPluginNotFound) {
			t.Errorf("LookPath(:2) = %v, want ErrPluginNotFound", err)
		}
		// Trap: LookPath walks the stable repository's directory
		// recursively, so it sees prerelease/2.0.0-rc.1 there too; the
		// exact prerelease on the *stable* name resolves to a path that
		// does not exist (and `fleeting install` would skip it). Use the
		// /prerelease name for prereleases.
		if p, err := installer.LookPath(stableRepo+":2.0.0-rc.1", ""); err == nil {
			if _, statErr := os.Stat(p); statErr == nil {
				t.Errorf("stable name resolved the prerelease to an existing %s: the trap is gone, update the docs", p)
			}
		} else {
			t.Errorf("LookPath(stable:2.0.0-rc.1) = %v: the nested-directory trap is gone, update the docs", err)
		}
	})

	t.Run("prerelease in the stable repository", func(t *testing.T) {
		// Why prereleases have their own repository: released next to
		// stable versions, the aliases move to them, `fleeting install` of
		// :latest installs the prerelease, and the runner's lookup of
		// :latest, which never selects a prerelease, then finds nothing.
		t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
		mixed := registryHost + "/ns/mixed"
		release(t, mixed+":1.3.0", "1.3.0")
		release(t, mixed+":2.0.0-rc.1", "2.0.0-rc.1")
		if a, v := digestOf(t, mixed+":latest"), digestOf(t, mixed+":2.0.0-rc.1"); a != v {
			t.Fatalf("latest = %s, want the prerelease's %s (fleeting-artifact behaviour changed?)", a, v)
		}
		_, _, err := install(mixed+":latest", false)
		if err == nil || !strings.Contains(err.Error(), "installed "+mixed+":latest, then: plugin not found") {
			t.Fatalf("install :latest: %v; want installed, then not found", err)
		}
		if _, err := os.Stat(filepath.Join(os.Getenv("FLEETING_PLUGIN_PATH"), filepath.FromSlash(mixed), "2.0.0-rc.1", "plugin")); err != nil {
			t.Errorf("the prerelease was not what :latest installed: %v", err)
		}
	})

	t.Run("run installed plugin", func(t *testing.T) {
		t.Setenv("FLEETING_PLUGIN_PATH", t.TempDir())
		plugin := stableRepo + ":1" // as in config.toml
		if _, _, err := install(plugin, false); err != nil {
			t.Fatal(err)
		}
		path, err := installer.LookPath(plugin, "")
		if err != nil {
			t.Fatal(err)
		}
		wantPath(t, path, stableRepo, "1.3.0")
		began := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		runInstalledPlugin(t, ctx, path, "1.3.0")
		t.Logf("RunPlugin, Init, Increase, Update to running in %v", time.Since(began).Round(time.Millisecond))
	})

	t.Run("bootstrap", func(t *testing.T) {
		// What a container image entrypoint does:
		// docker run -v <plugins>:/plugins IMAGE bootstrap REPO.
		dir := t.TempDir()
		bin := filepath.Join(dists["1.2.3"], filepath.FromSlash(releaserPlatformDir()), "plugin")
		for range 2 { // the second run finds it installed and does nothing
			cmd := exec.CommandContext(t.Context(), bin, "bootstrap", stableRepo+":1")
			cmd.Env = append(os.Environ(), "FLEETING_PLUGIN_PATH="+dir, "FLEETING_PLUGIN_PKG_VERSION=1.2.3")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bootstrap: %v\n%s%s", err, out, stderr.String())
			}
			want := filepath.Join(dir, filepath.FromSlash(stableRepo), "1.2.3")
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("bootstrap printed %q, want %q", got, want)
			}
			if stderr.Len() > 0 {
				t.Errorf("bootstrap warned: %s", stderr.String())
			}
		}
		for _, c := range []string{":1", ":1.2", ":latest", ":1.2.3"} {
			p, err := installer.LookPath(stableRepo+c, dir)
			if err != nil {
				t.Fatalf("LookPath(%s) after bootstrap: %v", c, err)
			}
			if want := filepath.Join(dir, filepath.FromSlash(stableRepo), "1.2.3", "plugin"); p != want {
				t.Errorf("LookPath(%s) = %s, want %s", c, p, want)
			}
		}
		got := pluginVersion(t, filepath.Join(dir, filepath.FromSlash(stableRepo), "1.2.3", "plugin"))
		if got != "1.2.3" {
			t.Errorf("bootstrapped binary says %q", got)
		}
	})
	t.Logf("TestDistribution total %v", time.Since(start).Round(time.Millisecond))
}

// runInstalledPlugin starts the plugin at path as the runner does
// (fleeting.RunPlugin: no arguments, gRPC over go-plugin, the test's
// environment) against a simulated group and drives it through Init,
// Increase and Update until the new instance is running.
func runInstalledPlugin(t *testing.T, ctx context.Context, path, version string) {
	t.Helper()
	sim, err := awssim.Start(awssim.Options{Speed: 50, BootDelay: 10 * time.Second, TerminateDelay: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": sim.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDDISTTEST00000000", "AWS_SECRET_ACCESS_KEY": "distribution-secret", "AWS_SESSION_TOKEN": "",
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE":               "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}

	config, _ := json.Marshal(map[string]any{"name": "runners"})
	runner, err := fleeting.RunPlugin(path, config, fleeting.WithPluginLogger(hclog.NewNullLogger()))
	if err != nil {
		t.Fatalf("RunPlugin %s: %v", path, err)
	}
	defer runner.Kill()
	group := runner.InstanceGroup()

	info, err := group.Init(ctx, hclog.NewNullLogger(), provider.Settings{ConnectorConfig: provider.ConnectorConfig{
		OS: "linux", Protocol: provider.ProtocolSSH, Timeout: time.Minute,
	}})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	if info.Version != version || info.MaxSize != 3 || info.ID == "" {
		t.Errorf("ProviderInfo %+v, want version %s, MaxSize 3", info, version)
	}
	if n, err := group.Increase(ctx, 1); err != nil || n != 1 {
		t.Fatalf("Increase(1) = %d, %v", n, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		states := map[string]provider.State{}
		if err := group.Update(ctx, func(id string, s provider.State) { states[id] = s }); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if len(states) > 1 {
			t.Fatalf("Update reported %v after Increase(1)", states)
		}
		running := false
		for _, s := range states {
			running = s == provider.StateRunning
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running instance after Increase(1): %v", states)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// resolve checks that the runner's lookup of plugin lands on version.
func resolve(t *testing.T, plugin, repo, version string) {
	t.Helper()
	p, err := installer.LookPath(plugin, "")
	if err != nil {
		t.Fatalf("LookPath(%s): %v", plugin, err)
	}
	wantPath(t, p, repo, version)
}

// wantPath checks path is <FLEETING_PLUGIN_PATH>/<repo>/<version>/plugin and
// an executable file.
func wantPath(t *testing.T, path, repo, version string) {
	t.Helper()
	file := "plugin"
	if runtime.GOOS == "windows" {
		file = "plugin.exe"
	}
	if want := filepath.Join(os.Getenv("FLEETING_PLUGIN_PATH"), filepath.FromSlash(repo), version, file); path != want {
		t.Fatalf("resolved %s, want %s", path, want)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable (%v)", path, info.Mode())
	}
}

func listTags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	return tags
}

func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}
