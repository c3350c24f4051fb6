package provider

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// sshKey is the key pushed with EC2 Instance Connect. The private half
// stays here: ec2spot only ever gets the public key to push.
type sshKey struct {
	// privatePEM is the private key, OpenSSH PEM ("OPENSSH PRIVATE KEY"),
	// as the connector's ssh.ParsePrivateKey reads it.
	privatePEM []byte
	// authorizedKey is the public key, authorized_keys format, no newline.
	authorizedKey string
}

// keyComment names the key on the instance (visible in its auth log).
const keyComment = "fleeting-plugin-ec2spot"

// generateSSHKey makes a new ed25519 key.
func generateSSHKey() (*sshKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, keyComment)
	if err != nil {
		return nil, fmt.Errorf("encoding ed25519 key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding ed25519 public key: %w", err)
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + keyComment
	return &sshKey{privatePEM: pem.EncodeToMemory(block), authorizedKey: authorized}, nil
}

// processKey is the one key of this process, generated on first use: one
// key per plugin process rather than one per connection (key generation
// per connection is what makes the official plugin's connects slow).
var processKey = sync.OnceValues(generateSSHKey)

// public is the key's public half, "" for no key.
func (k *sshKey) public() string {
	if k == nil {
		return ""
	}
	return k.authorizedKey
}
