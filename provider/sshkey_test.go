package provider

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestProcessKeyIsOneOpenSSHEd25519Key(t *testing.T) {
	k1, err := processKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := processKey()
	if k1 != k2 {
		t.Fatal("processKey generated a second key")
	}
	if !strings.Contains(string(k1.privatePEM), "BEGIN OPENSSH PRIVATE KEY") {
		t.Fatalf("private key not OpenSSH PEM:\n%s", k1.privatePEM)
	}
	signer, err := ssh.ParsePrivateKey(k1.privatePEM)
	if err != nil {
		t.Fatalf("connector cannot parse the key: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k1.authorizedKey))
	if err != nil {
		t.Fatalf("authorized key: %v", err)
	}
	if pub.Type() != ssh.KeyAlgoED25519 || !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatal("public key does not match the private key")
	}
	// SendSSHPublicKey accepts 80 to 4096 characters.
	if n := len(k1.authorizedKey); n < 80 || n > 4096 || strings.ContainsAny(k1.authorizedKey, "\n") {
		t.Fatalf("authorized key of %d characters: %q", n, k1.authorizedKey)
	}
}
