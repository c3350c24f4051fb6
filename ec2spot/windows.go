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
// minutes after launch; until then it polls, for as long as ctx allows.
func (g *Group) WindowsPassword(ctx context.Context, id string, privateKeyPEM []byte) (string, error) {
	if p, ok := g.passwords.get(id); ok {
		return p, nil
	}
	key, err := parseRSAKey(privateKeyPEM)
	if err != nil {
		return "", err
	}
	for {
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
		t := time.NewTimer(g.passwordPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("instance %s: Windows password not available yet (AWS publishes it a few minutes after launch): %w", id, ctx.Err())
		case <-t.C:
		}
	}
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
	//lint:ignore SA1019 EC2 encrypts Windows passwords with PKCS #1 v1.5; there is no other format.
	plain, err := rsa.DecryptPKCS1v15(rand.Reader, key, ciphertext)
	if err != nil {
		return "", fmt.Errorf("decrypting the Windows password (is connector_config key_path the key pair the instance was launched with?): %w", err)
	}
	return string(plain), nil
}
