package ec2spot

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestDecryptWindowsPassword(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // SA1019: EC2's format, see decryptPassword.
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, []byte("s3cret!"))
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"pkcs1": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		"pkcs8": func() *pem.Block {
			b, _ := x509.MarshalPKCS8PrivateKey(key)
			return &pem.Block{Type: "PRIVATE KEY", Bytes: b}
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			k, err := parseRSAKey(pem.EncodeToMemory(block))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decryptPassword(k, base64.StdEncoding.EncodeToString(ct))
			if err != nil || got != "s3cret!" {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestParseRSAKeyErrors(t *testing.T) {
	if _, err := parseRSAKey(nil); err == nil || !strings.Contains(err.Error(), "key_path") {
		t.Errorf("no key: %v", err)
	}
	if _, err := parseRSAKey([]byte("garbage")); err == nil || !strings.Contains(err.Error(), "parsing connector_config key_path") {
		t.Errorf("garbage: %v", err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	b, _ := x509.MarshalPKCS8PrivateKey(priv)
	if _, err := parseRSAKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})); err == nil || !strings.Contains(err.Error(), "needs an RSA key pair") {
		t.Errorf("ed25519: %v", err)
	}
}

// AWS never publishes a password (an AMI without EC2Launch's password
// generation, a wrong key pair): WindowsPassword gives up after
// PasswordPollAttempts and says what to check, instead of holding the job
// for as long as the context lasts. Counted in calls, not time.
func TestWindowsPasswordPollingIsBounded(t *testing.T) {
	t.Parallel()
	if g := NewGroup(GroupOptions{}); g.passwordAttempts != 120 || g.passwordPoll != 5*time.Second {
		t.Errorf("default bound %d × %s, want GitLab's 120 × 5s", g.passwordAttempts, g.passwordPoll)
	}
	s := fastSim(t, awssim.Options{PasswordDelay: 1000 * time.Hour})
	keyPEM, err := s.CreateKeyPair("win")
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGroup(t, s, awssim.GroupSpec{Desired: 1, MaxSize: 2, ImageID: awssim.ImageWindowsAMD64, KeyName: "win"}, func(o *GroupOptions) {
		o.PasswordPollInterval = time.Millisecond
		o.PasswordPollAttempts = 3
	})
	id := inService(t, g, 1)[0]
	ctx := testCtx(t)
	if _, err := g.Details(ctx, id); err != nil { // as ConnectInfo does first
		t.Fatal(err)
	}
	s.ResetCalls()
	_, err = g.WindowsPassword(ctx, id, keyPEM)
	if !errors.Is(err, ErrNoWindowsPassword) {
		t.Fatalf("WindowsPassword without a password ever = %v, want ErrNoWindowsPassword", err)
	}
	for _, want := range []string{"after 3 checks", "the AMI " + awssim.ImageWindowsAMD64, `the key pair "win"`, "EC2Launch", "key_path", "get-console-output"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := s.CallCount("ec2", "GetPasswordData"); n != 3 {
		t.Errorf("%d GetPasswordData calls, want the bound 3", n)
	}
	if n := s.CallCount("ec2", "DescribeInstances"); n != 0 {
		t.Errorf("%d DescribeInstances calls for the error message, want 0 (cached details)", n)
	}
}
