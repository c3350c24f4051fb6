package integration_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"sync"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/integration"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/sshhost"
	ec2spotprovider "gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// The plugin is built in a subprocess, which go test's result cache does not
// see; depending on the provider package ties cached results to its sources.
var _ ec2spotprovider.InstanceGroup

// TestConformance runs fleeting's own provisioning test against the built
// plugin binary over gRPC, with simulated instances that run real SSH
// hosts, once per credential mode.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	bin := integration.BuildPluginBinary(t, "../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")

	t.Run("instance connect", func(t *testing.T) {
		sim, port := startConformanceSim(t)
		if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 5}); err != nil {
			t.Fatal(err)
		}
		hosts := watchSSHHosts(t, sim)
		integration.TestProvisioning(t, bin, integration.Config{
			PluginConfig:    map[string]any{"name": "runners"},
			ConnectorConfig: provider.ConnectorConfig{ProtocolPort: port, Timeout: time.Minute},
			MaxInstances:    3,
		})
		assertCommandRan(t, hosts)
	})

	t.Run("static credentials", func(t *testing.T) {
		sim, port := startConformanceSim(t)
		pub, priv := newKeyPair(t)
		if err := sim.ImportKeyPair("runner", pub); err != nil {
			t.Fatal(err)
		}
		if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 5, KeyName: "runner"}); err != nil {
			t.Fatal(err)
		}
		hosts := watchSSHHosts(t, sim)
		integration.TestProvisioning(t, bin, integration.Config{
			PluginConfig: map[string]any{"name": "runners"},
			ConnectorConfig: provider.ConnectorConfig{
				ProtocolPort: port, Timeout: time.Minute,
				Username: "ec2-user", Key: priv, UseStaticCredentials: true,
			},
			MaxInstances: 3,
		})
		assertCommandRan(t, hosts)
		if n := sim.CallCount("ec2-instance-connect", "SendSSHPublicKey"); n != 0 {
			t.Errorf("SendSSHPublicKey called %d times with static credentials", n)
		}
	})
}

// startConformanceSim starts a fast simulator with SSH hosts on a free
// port and points the plugin process (which inherits the environment) at it.
func startConformanceSim(t *testing.T) (*awssim.Sim, int) {
	t.Helper()
	port := freePort(t)
	sim, err := awssim.Start(awssim.Options{
		// 20× keeps an Instance Connect key (60 simulated seconds) valid for
		// 3 real seconds, plenty for the connect that follows ConnectInfo.
		Speed: 20, BootDelay: 10 * time.Second, TerminateDelay: 10 * time.Second,
		SSH: &awssim.SSHOptions{Port: port},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDSIMTEST0000000000", "AWS_SECRET_ACCESS_KEY": "simulated-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": sim.URL(), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	return sim, port
}

func freePort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newKeyPair(t *testing.T) (authorizedKey, privatePEM []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "conformance")
	if err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(sshPub), pem.EncodeToMemory(block)
}

// watchSSHHosts collects every instance's SSH host while it runs: hosts are
// dropped from the simulator when their instance terminates, which the
// harness does before it returns, but keep their command log.
func watchSSHHosts(t *testing.T, sim *awssim.Sim) func() map[string]*sshhost.Host {
	var (
		mu    sync.Mutex
		hosts = map[string]*sshhost.Host{}
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, inst := range sim.Instances() {
				if h := sim.SSHHost(inst.ID); h != nil {
					mu.Lock()
					hosts[inst.ID] = h
					mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	finish := func() map[string]*sshhost.Host {
		once.Do(func() { close(stop); <-done })
		mu.Lock()
		defer mu.Unlock()
		return hosts
	}
	t.Cleanup(func() { finish() })
	return finish
}

// assertCommandRan checks that the harness's command really ran on an
// instance: it silently skips instances that are not running.
func assertCommandRan(t *testing.T, hosts func() map[string]*sshhost.Host) {
	t.Helper()
	for id, h := range hosts() {
		for _, c := range h.Commands() {
			if c == "echo 'hello world'" {
				t.Logf("command ran on %s", id)
				return
			}
		}
	}
	t.Fatal("echo 'hello world' ran on no instance: the harness connected to nothing")
}
