package ec2spot

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// SSHKey is the key pushed with EC2 Instance Connect.
type SSHKey struct {
	// PrivatePEM is the private key, OpenSSH PEM ("OPENSSH PRIVATE KEY"),
	// as the connector's ssh.ParsePrivateKey reads it.
	PrivatePEM []byte
	// AuthorizedKey is the public key, authorized_keys format, no newline.
	AuthorizedKey string
}

// keyComment names the key on the instance (visible in its auth log).
const keyComment = "fleeting-plugin-ec2spot"

// GenerateSSHKey makes a new ed25519 key.
func GenerateSSHKey() (*SSHKey, error) {
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
	return &SSHKey{PrivatePEM: pem.EncodeToMemory(block), AuthorizedKey: authorized}, nil
}

// ProcessKey is the one key of this process, generated on first use: one
// key per plugin process rather than one per connection (key generation
// per connection is what makes the official plugin's connects slow).
var ProcessKey = sync.OnceValues(GenerateSSHKey)
