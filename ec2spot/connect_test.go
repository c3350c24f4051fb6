package ec2spot

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// sshRun logs in with key and runs cmd.
func sshRun(addr, user string, key []byte, cmd string) (string, error) {
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return "", err
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.Output(cmd)
	return string(out), err
}

func TestDetailsCachedAndShared(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2, InstanceTypes: []string{"m5.large"}})
	id := inService(t, g, 1)[0]
	s.SetLatency("ec2", "DescribeInstances", 50*time.Millisecond)
	s.ResetCalls()

	var wg sync.WaitGroup
	results := make([]InstanceDetails, 8)
	for n := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := g.Details(testCtx(t), id)
			if err != nil {
				t.Error(err)
			}
			results[n] = d
		}()
	}
	wg.Wait()
	if _, err := g.Details(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	if got := s.CallCount("ec2", "DescribeInstances"); got != 1 {
		t.Errorf("DescribeInstances calls = %d, want 1", got)
	}
	inst, _ := s.Instance(id)
	d := results[3]
	if d.PrivateIP != inst.PrivateIP || d.PublicIP != inst.PublicIP || d.InstanceType != "m5.large" || d.Architecture != "x86_64" ||
		d.AvailabilityZone != inst.AZ || d.IsWindows() || d.IsMac() || (d.Market != "spot" && d.Market != "on-demand") {
		t.Errorf("details %+v, instance %+v", d, inst)
	}
}

func TestDetailsOfGoneInstance(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2})
	id := inService(t, g, 1)[0]
	if err := s.TerminateExternally(id); err != nil {
		t.Fatal(err)
	}
	_, err := g.Details(testCtx(t), id)
	if !errors.Is(err, ErrInstanceNotRunning) {
		t.Fatalf("details of a terminating instance: %v", err)
	}
	if _, err := g.Details(testCtx(t), "i-0000000000000dead"); !errors.Is(err, ErrInstanceNotRunning) {
		t.Fatalf("details of an unknown instance: %v", err)
	}
}

// testKey is an ed25519 key: the private half in OpenSSH PEM, the public
// half in authorized_keys format. The caller keeps the private half; the
// group gets only the public one.
func testKey(t *testing.T) (privatePEM []byte, authorized string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

func TestPushKeyAndExpiry(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{Speed: 1, SSH: &awssim.SSHOptions{}})
	privatePEM, authorized := testKey(t)
	now := time.Now()
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2}, func(o *GroupOptions) {
		o.PublicKey = authorized
		o.Now = func() time.Time { return now }
	})
	s.SetSpeed(100)
	id := inService(t, g, 1)[0]
	s.SetSpeed(1)
	ctx := testCtx(t)
	d, err := g.Details(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(d.PrivateIP, strconv.Itoa(s.SSHPort()))

	if _, err := sshRun(addr, "ec2-user", privatePEM, "true"); err == nil {
		t.Fatal("login before the key push succeeded")
	}
	expires, err := g.PushKey(ctx, d, "ec2-user")
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(50 * time.Second); !expires.Equal(want) {
		t.Errorf("expires %v, want %v (60s lifetime minus margin)", expires, want)
	}
	out, err := sshRun(addr, "ec2-user", privatePEM, "echo 'hello world'")
	if err != nil || !strings.Contains(out, "hello world") {
		t.Fatalf("login with the pushed key: %q, %v", out, err)
	}

	// After the key lifetime the key is refused until pushed again.
	s.Advance(61 * time.Second)
	if _, err := sshRun(addr, "ec2-user", privatePEM, "true"); err == nil {
		t.Fatal("login with an expired key succeeded")
	}
	now = now.Add(61 * time.Second)
	expires2, err := g.PushKey(ctx, d, "ec2-user")
	if err != nil || !expires2.After(expires) {
		t.Fatalf("second push: %v, %v", expires2, err)
	}
	if _, err := sshRun(addr, "ec2-user", privatePEM, "true"); err != nil {
		t.Fatalf("login after the refresh: %v", err)
	}
	if got := s.CallCount("ec2-instance-connect", "SendSSHPublicKey"); got != 2 {
		t.Errorf("SendSSHPublicKey calls = %d, want 2", got)
	}
}

func TestPushKeyToStoppedInstance(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2}, func(o *GroupOptions) { _, o.PublicKey = testKey(t) })
	id := inService(t, g, 1)[0]
	ctx := testCtx(t)
	d, err := g.Details(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TerminateExternally(id); err != nil {
		t.Fatal(err)
	}
	_, err = g.PushKey(ctx, d, "ec2-user")
	if !errors.Is(err, ErrInstanceNotRunning) || !strings.Contains(err.Error(), "EC2InstanceStateInvalidException") {
		t.Fatalf("push to a terminating instance: %v", err)
	}
}

func TestWindowsPassword(t *testing.T) {
	t.Parallel()
	// The password takes an hour of simulated time, so it cannot appear early
	// however slowly the machine runs; Advance makes it appear.
	s := fastSim(t, awssim.Options{PasswordDelay: time.Hour, Speed: 100})
	keyPEM, err := s.CreateKeyPair("win")
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2, ImageID: awssim.ImageWindowsAMD64, KeyName: "win"}, func(o *GroupOptions) {
		o.PasswordPollInterval = time.Hour // one call, then the wait the deadline ends
	})
	id := inService(t, g, 1)[0]
	ctx := testCtx(t)
	d, err := g.Details(ctx, id)
	if err != nil || !d.IsWindows() {
		t.Fatalf("details %+v, %v", d, err)
	}

	// Bounded by the context while AWS has no password yet. The deadline
	// must find the poll waiting, not calling (a call cut short is another
	// error): far beyond one call's time on a loaded machine.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := g.WindowsPassword(short, id, keyPEM); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not available yet") {
		t.Fatalf("before the password exists: %v", err)
	}
	s.Advance(time.Hour)

	s.ResetCalls()
	password, err := g.WindowsPassword(ctx, id, keyPEM)
	inst, _ := s.Instance(id)
	if err != nil || password == "" || password != inst.Password {
		t.Fatalf("password %q (want %q), %v", password, inst.Password, err)
	}
	calls := s.CallCount("ec2", "GetPasswordData")
	if again, err := g.WindowsPassword(ctx, id, keyPEM); err != nil || again != password {
		t.Fatalf("cached password: %q, %v", again, err)
	}
	if got := s.CallCount("ec2", "GetPasswordData"); got != calls {
		t.Errorf("GetPasswordData called again for a cached password")
	}

	// A wrong key is a clear error.
	other, _ := s.CreateKeyPair("other")
	g.passwords.init()
	if _, err := g.WindowsPassword(ctx, id, other); err == nil || !strings.Contains(err.Error(), "is connector_config key_path the key pair the instance was launched with?") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestCheckSetupListsPolicies(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	g := newTestGroup(t, s, awssim.GroupSpec{MaxSize: 2, MinSize: 1, Desired: 1, Unprotected: true, KeepAZRebalance: true, CapacityRebalance: true})
	ctx := testCtx(t)
	putPolicy(t, "cpu-target")
	snap, _, err := g.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := g.CheckSetup(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	got := checks(f)
	for c, sev := range map[string]Severity{
		CheckScaleInProtection: SeverityError, CheckAZRebalance: SeverityError, CheckScalingPolicies: SeverityError,
		CheckMinSize: SeverityError, CheckCapacityRebalance: SeverityWarning,
	} {
		if g, ok := got[c]; !ok || g != sev {
			t.Errorf("%s: %v %v", c, g, ok)
		}
	}
	for _, x := range f {
		if x.Check == CheckScalingPolicies && !strings.Contains(x.Problem, "cpu-target") {
			t.Errorf("policy not named: %v", x)
		}
	}
	s.InjectFault(awssim.Fault{Service: "autoscaling", Action: "DescribePolicies", Code: "AccessDenied", Status: 403, Message: "no", Count: 1})
	if _, err := g.CheckSetup(ctx, snap); !IsAccessDenied(err) || !strings.Contains(err.Error(), "autoscaling:DescribePolicies") {
		t.Errorf("DescribePolicies denied: %v", err)
	}
}
