package ec2spot

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

func TestDecryptWindowsPassword(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 EC2's format, see decryptPassword.
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
