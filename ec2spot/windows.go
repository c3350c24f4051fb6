package ec2spot

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/crypto/ssh"
)

// passwordCache keeps decrypted Windows passwords per instance: the
// password is set once at launch, and polling for it can take minutes.
type passwordCache struct {
	mu        sync.Mutex
	passwords map[string]string
}

func (c *passwordCache) init() { c.passwords = map[string]string{} }

func (c *passwordCache) retain(snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.passwords {
		if _, ok := snap.Instance(id); !ok {
			delete(c.passwords, id)
		}
	}
}

func (c *passwordCache) get(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.passwords[id]
	return p, ok
}

func (c *passwordCache) put(id, password string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passwords[id] = password
}

// WindowsPassword returns the instance's Administrator password, decrypted
// with the launch key pair's private key (PEM). AWS publishes it some
// minutes after launch; until then it polls, at most PasswordPollAttempts
// times (10 min by default) and for as long as ctx allows.
func (g *Group) WindowsPassword(ctx context.Context, id string, privateKeyPEM []byte) (string, error) {
	if p, ok := g.passwords.get(id); ok {
		return p, nil
	}
	key, err := parseRSAKey(privateKeyPEM)
	if err != nil {
		return "", err
	}
	start := g.now()
	for attempt := 1; ; attempt++ {
		out, err := g.clients.EC2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String(id)})
		if err != nil {
			if code := errorCode(err); code == "InvalidInstanceID.NotFound" || code == "IncorrectInstanceState" {
				return "", fmt.Errorf("instance %s: %w: %w", id, ErrInstanceNotRunning, err)
			}
			return "", explain("ec2:GetPasswordData", err)
		}
		if data := strings.TrimSpace(aws.ToString(out.PasswordData)); data != "" {
			password, err := decryptPassword(key, data)
			if err != nil {
				return "", fmt.Errorf("instance %s: %w", id, err)
			}
			g.passwords.put(id, password)
			return password, nil
		}
		if attempt >= g.passwordAttempts {
			return "", g.noPasswordError(ctx, id, attempt, g.now().Sub(start))
		}
		t := time.NewTimer(g.passwordPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("instance %s: Windows password not available yet (AWS publishes it a few minutes after launch): %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// ErrNoWindowsPassword: AWS published no password within the polling bound.
var ErrNoWindowsPassword = errors.New("AWS published no Windows password")

// noPasswordError says what to check when AWS never publishes a password:
// it names the instance's AMI and key pair when they are known (the details
// are cached by ConnectInfo, so this makes no call in practice).
func (g *Group) noPasswordError(ctx context.Context, id string, attempts int, waited time.Duration) error {
	ami, keyName := "the launch template's AMI", "the launch template's key pair"
	if d, err := g.Details(ctx, id); err == nil {
		if d.ImageID != "" {
			ami = "the AMI " + d.ImageID
		}
		if d.KeyName != "" {
			keyName = fmt.Sprintf("the key pair %q", d.KeyName)
		}
	}
	return fmt.Errorf("instance %s: %w after %d checks over %s: check that %s is a Windows AMI whose EC2Launch (or EC2Config) generates a random Administrator password at first boot, that the launch template names %s and connector_config key_path is its private key, and the instance's system log (aws ec2 get-console-output --instance-id %s) for EC2Launch errors",
		id, ErrNoWindowsPassword, attempts, waited.Round(time.Second), ami, keyName, id)
}

func parseRSAKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	if len(pemBytes) == 0 {
		return nil, errors.New("decrypting the Windows password needs the launch key pair's private key: set connector_config key_path")
	}
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing connector_config key_path for Windows password decryption: %w", err)
	}
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("decrypting the Windows password needs an RSA key pair, connector_config key_path holds a %T", raw)
	}
}

func decryptPassword(key *rsa.PrivateKey, data string) (string, error) {
	ciphertext, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", fmt.Errorf("decoding password data: %w", err)
	}
	// The padding-oracle concern does not apply: the ciphertext comes from
	// AWS over TLS, not from an attacker who sees the outcome.
	//nolint:staticcheck // SA1019: EC2 encrypts Windows passwords with PKCS #1 v1.5; there is no other format.
	plain, err := rsa.DecryptPKCS1v15(rand.Reader, key, ciphertext)
	if err != nil {
		return "", fmt.Errorf("decrypting the Windows password (is connector_config key_path the key pair the instance was launched with?): %w", err)
	}
	return string(plain), nil
}
