package ec2spot

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestProcessKeyIsOneOpenSSHEd25519Key(t *testing.T) {
	k1, err := ProcessKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := ProcessKey()
	if k1 != k2 {
		t.Fatal("ProcessKey generated a second key")
	}
	if !strings.Contains(string(k1.PrivatePEM), "BEGIN OPENSSH PRIVATE KEY") {
		t.Fatalf("private key not OpenSSH PEM:\n%s", k1.PrivatePEM)
	}
	signer, err := ssh.ParsePrivateKey(k1.PrivatePEM)
	if err != nil {
		t.Fatalf("connector cannot parse the key: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k1.AuthorizedKey))
	if err != nil {
		t.Fatalf("authorized key: %v", err)
	}
	if pub.Type() != ssh.KeyAlgoED25519 || !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatal("public key does not match the private key")
	}
	// SendSSHPublicKey accepts 80 to 4096 characters.
	if n := len(k1.AuthorizedKey); n < 80 || n > 4096 || strings.ContainsAny(k1.AuthorizedKey, "\n") {
		t.Fatalf("authorized key of %d characters: %q", n, k1.AuthorizedKey)
	}
}
