package provider

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// run executes cmd through fleeting's own connector, as the runner does.
func run(t *testing.T, info provider.ConnectInfo, cmd string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := connector.Run(ctx, info, connector.ConnectorOptions{RunOptions: connector.RunOptions{Command: cmd, Stdout: &stdout, Stderr: &stderr}})
	return stdout.String(), err
}

// sshLogin only authenticates with info's key (fleeting's connector would
// retry a refused key until its timeout).
func sshLogin(info provider.ConnectInfo) error {
	signer, err := ssh.ParsePrivateKey(info.Key)
	if err != nil {
		return err
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(info.InternalAddr, strconv.Itoa(info.ProtocolPort)), &ssh.ClientConfig{
		User: info.Username, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	return c.Close()
}

// sshSim is a simulator whose Linux instances run SSH hosts.
func sshSim(t *testing.T) (*awssim.Sim, provider.Settings) {
	s := fastSim(t, awssim.Options{SSH: &awssim.SSHOptions{}})
	return s, provider.Settings{ConnectorConfig: provider.ConnectorConfig{Timeout: 5 * time.Second}}
}

func TestConnectInfoWithInstanceConnect(t *testing.T) {
	t.Parallel()
	s, settings := sshSim(t)
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1}, settings)
	id := p.waitRunning(t, 1)[0]
	settings.ProtocolPort = s.SSHPort()
	p.settings = settings

	before := time.Now()
	info, err := p.ConnectInfo(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := s.Instance(id)
	if info.ID != id || info.OS != "linux" || info.Arch != "amd64" || info.Protocol != provider.ProtocolSSH || info.ProtocolPort != s.SSHPort() ||
		info.Username != "ec2-user" || info.Timeout != 5*time.Second || info.Keepalive != DefaultKeepalive ||
		info.InternalAddr != inst.PrivateIP || info.ExternalAddr != inst.PublicIP || info.InternalAddr == "" || info.UseStaticCredentials {
		t.Errorf("connect info %+v\ninstance %+v", info, inst)
	}
	if info.Expires == nil || info.Expires.Before(before.Add(45*time.Second)) || info.Expires.After(time.Now().Add(50*time.Second)) {
		t.Errorf("expires %v, want about now+50s", info.Expires)
	}
	if _, err := ssh.ParsePrivateKey(info.Key); err != nil {
		t.Errorf("key: %v", err)
	}
	out, err := run(t, info, "echo 'hello world'")
	if err != nil || !strings.Contains(out, "hello world") {
		t.Fatalf("run: %q, %v", out, err)
	}
	if cmds := s.SSHHost(id).Commands(); len(cmds) != 1 || cmds[0] != "echo 'hello world'" {
		t.Errorf("commands on the host: %q", cmds)
	}
	if n := s.CallCount("ec2-instance-connect", "SendSSHPublicKey"); n != 1 {
		t.Errorf("SendSSHPublicKey calls = %d", n)
	}
	if strings.Contains(p.log.String(), "PRIVATE KEY") {
		t.Error("the private key was logged")
	}
}

func TestConnectInfoRefreshedAfterKeyExpiry(t *testing.T) {
	t.Parallel()
	s, settings := sshSim(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1}, settings, func(o *ec2spot.GroupOptions) { o.Now = clock })
	id := p.waitRunning(t, 1)[0]
	settings.ProtocolPort = s.SSHPort()
	p.settings = settings
	s.SetSpeed(1)

	first, err := p.ConnectInfo(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, first, "true"); err != nil {
		t.Fatalf("first connect: %v", err)
	}
	// Past the key's life: the same info no longer logs in.
	s.Advance(61 * time.Second)
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if err := sshLogin(first); err == nil {
		t.Fatal("logged in with an expired Instance Connect key")
	}
	second, err := p.ConnectInfo(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Expires.After(*first.Expires) {
		t.Errorf("refreshed expiry %v is not after %v", second.Expires, first.Expires)
	}
	if out, err := run(t, second, "echo again"); err != nil || !strings.Contains(out, "again") {
		t.Fatalf("connect after refresh: %q, %v", out, err)
	}
	// Addresses came from the cache: one DescribeInstances in all.
	if n := s.CallCount("ec2", "DescribeInstances"); n != 1 {
		t.Errorf("DescribeInstances calls = %d, want 1", n)
	}
}

func TestConnectInfoStaticCredentials(t *testing.T) {
	t.Parallel()
	s, settings := sshSim(t)
	key, err := s.CreateKeyPair("runner-key")
	if err != nil {
		t.Fatal(err)
	}
	settings.UseStaticCredentials = true
	settings.Username = "ec2-user"
	settings.Key = key
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1, KeyName: "runner-key"}, settings)
	id := p.waitRunning(t, 1)[0]
	p.settings.ProtocolPort = s.SSHPort()

	info, err := p.ConnectInfo(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.Key, key) || info.Expires != nil || !info.UseStaticCredentials {
		t.Errorf("static info: key kept %v, expires %v", bytes.Equal(info.Key, key), info.Expires)
	}
	if out, err := run(t, info, "echo static"); err != nil || !strings.Contains(out, "static") {
		t.Fatalf("run: %q, %v", out, err)
	}
	if n := s.CallCount("ec2-instance-connect", "SendSSHPublicKey"); n != 0 {
		t.Errorf("SendSSHPublicKey called %d times with static credentials", n)
	}
}

func TestConnectInfoWindows(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{PasswordDelay: 10 * time.Second})
	key, err := s.CreateKeyPair("win-key")
	if err != nil {
		t.Fatal(err)
	}
	settings := provider.Settings{ConnectorConfig: provider.ConnectorConfig{Key: key}}
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1, ImageID: awssim.ImageWindowsAMD64, KeyName: "win-key"}, settings,
		func(o *ec2spot.GroupOptions) { o.PasswordPollInterval = 10 * time.Millisecond })
	id := p.waitRunning(t, 1)[0]
	info, err := p.ConnectInfo(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := s.Instance(id)
	if info.OS != "windows" || info.Protocol != provider.ProtocolWinRM || info.Username != "Administrator" ||
		info.Password != inst.Password || info.Password == "" || info.Key != nil || info.Expires != nil || info.InternalAddr != inst.PrivateIP {
		t.Errorf("windows info %+v (password want %q)", info, inst.Password)
	}
	if strings.Contains(p.log.String(), inst.Password) {
		t.Error("the password was logged")
	}
}

// A Windows instance launched without a key pair never gets a password:
// ConnectInfo says so at once instead of polling until the job times out.
func TestConnectInfoWindowsWithoutKeyPairFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	key, err := s.CreateKeyPair("unused")
	if err != nil {
		t.Fatal(err)
	}
	settings := provider.Settings{ConnectorConfig: provider.ConnectorConfig{Key: key}}
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1, ImageID: awssim.ImageWindowsAMD64}, settings)
	id := p.waitRunning(t, 1)[0]
	s.ResetCalls()
	_, err = p.ConnectInfo(testCtx(t), id)
	if err == nil || !strings.Contains(err.Error(), "launched without a key pair") {
		t.Fatalf("ConnectInfo of a Windows instance without a key pair: %v", err)
	}
	if n := s.CallCount("ec2", "GetPasswordData"); n != 0 {
		t.Errorf("GetPasswordData polled %d times for a password that can never exist", n)
	}
}

func TestConnectInfoOfTerminatedInstance(t *testing.T) {
	t.Parallel()
	s, settings := sshSim(t)
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 2, Desired: 1}, settings)
	id := p.waitRunning(t, 1)[0]
	if err := s.TerminateExternally(id); err != nil {
		t.Fatal(err)
	}
	_, err := p.ConnectInfo(testCtx(t), id)
	if !errors.Is(err, ec2spot.ErrInstanceNotRunning) || !strings.Contains(err.Error(), "no longer running") {
		t.Fatalf("ConnectInfo of a terminated instance: %v", err)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{MaxSize: 4, Desired: 3}, provider.Settings{})
	ids := p.waitRunning(t, 3)
	ctx := testCtx(t)
	s.ResetCalls()
	for _, id := range ids {
		if err := p.Heartbeat(ctx, id); err != nil {
			t.Errorf("healthy %s: %v", id, err)
		}
	}
	s.SetSpeed(0.001)
	if err := s.SetHealth(ids[0], "Unhealthy"); err != nil {
		t.Fatal(err)
	}
	if err := s.TerminateExternally(ids[1]); err != nil {
		t.Fatal(err)
	}
	p.states(t)
	calls := s.CallCount("autoscaling", "DescribeAutoScalingGroups")
	if err := p.Heartbeat(ctx, ids[0]); !errors.Is(err, provider.ErrInstanceUnhealthy) {
		t.Errorf("unhealthy: %v", err)
	}
	if err := p.Heartbeat(ctx, ids[1]); !errors.Is(err, provider.ErrInstanceUnhealthy) {
		t.Errorf("terminating: %v", err)
	}
	if err := p.Heartbeat(ctx, "i-0000000000000gone"); !errors.Is(err, provider.ErrInstanceUnhealthy) || !strings.Contains(err.Error(), "no longer in the auto scaling group") {
		t.Errorf("gone: %v", err)
	}
	if err := p.Heartbeat(ctx, ids[2]); err != nil {
		t.Errorf("healthy: %v", err)
	}
	if got := s.CallCount("autoscaling", "DescribeAutoScalingGroups"); got != calls || s.CallCount("ec2", "DescribeInstances") != 0 {
		t.Errorf("Heartbeat made API calls: %v", s.Calls())
	}
}
