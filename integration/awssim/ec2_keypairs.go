package awssim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
)

// EC2 key pairs: the launch key whose public half each instance's SSH host
// accepts, and whose RSA key encrypts Windows passwords.

// generatedKey is a new key pair's material before it is stored.
type generatedKey struct {
	pub         ssh.PublicKey
	rsaPublic   *rsa.PublicKey
	privatePEM  []byte
	fingerprint string
}

// generateKey makes a key as CreateKeyPair does: RSA 2048 as a PKCS#1 PEM
// (fingerprint: SHA-1 of the PKCS#8 DER), or ED25519 as an OpenSSH private
// key (fingerprint: base64 SHA-256 of the public key).
func generateKey(keyType string) (*generatedKey, error) {
	switch keyType {
	case "", "rsa":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		pub, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			return nil, err
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		sum := sha1.Sum(pkcs8)
		return &generatedKey{
			pub: pub, rsaPublic: &priv.PublicKey, fingerprint: colonHex(sum[:]),
			privatePEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}),
		}, nil
	case "ed25519":
		edPub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		pub, err := ssh.NewPublicKey(edPub)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, err
		}
		return &generatedKey{pub: pub, privatePEM: pem.EncodeToMemory(block), fingerprint: sha256Fingerprint(pub)}, nil
	}
	return nil, fmt.Errorf("unsupported key type %q", keyType)
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

func sha256Fingerprint(pub ssh.PublicKey) string {
	sum := sha256.Sum256(pub.Marshal())
	return base64.StdEncoding.EncodeToString(sum[:])
}

// keyFormatMessage is EC2's InvalidKey.Format message.
const keyFormatMessage = "Key is not in valid OpenSSH public key format"

var errKeyFormat = errors.New("invalid key format")

// parseImportedKey accepts an OpenSSH authorized_keys line or a PEM public
// key (PKIX or PKCS#1), RSA or ED25519, like ImportKeyPair.
func parseImportedKey(material []byte) (*generatedKey, error) {
	var pub ssh.PublicKey
	if k, _, _, _, err := ssh.ParseAuthorizedKey(material); err == nil {
		pub = k
	} else if block, _ := pem.Decode(material); block != nil {
		var raw any
		if raw, err = x509.ParsePKIXPublicKey(block.Bytes); err != nil {
			if raw, err = x509.ParsePKCS1PublicKey(block.Bytes); err != nil {
				return nil, errKeyFormat
			}
		}
		if pub, err = ssh.NewPublicKey(raw); err != nil {
			return nil, errKeyFormat
		}
	} else {
		return nil, errKeyFormat
	}
	g := &generatedKey{pub: pub}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		cpk, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, errKeyFormat
		}
		g.rsaPublic = cpk.CryptoPublicKey().(*rsa.PublicKey)
		der, err := x509.MarshalPKIXPublicKey(g.rsaPublic)
		if err != nil {
			return nil, errKeyFormat
		}
		sum := md5.Sum(der)
		g.fingerprint = colonHex(sum[:])
	case ssh.KeyAlgoED25519:
		g.fingerprint = sha256Fingerprint(pub)
	default:
		return nil, errKeyFormat
	}
	return g, nil
}

func keyTypeOf(pub ssh.PublicKey) string {
	if pub.Type() == ssh.KeyAlgoED25519 {
		return "ed25519"
	}
	return "rsa"
}

// storeKeyPairLocked records a key pair; AWS appends the name to the stored
// public key.
func (s *Sim) storeKeyPairLocked(name string, g *generatedKey, private []byte) *KeyPair {
	kp := &KeyPair{
		ID: s.ec2ResourceID("key"), Name: name, Type: keyTypeOf(g.pub), Fingerprint: g.fingerprint,
		PublicKey:  append(bytes.TrimSpace(ssh.MarshalAuthorizedKey(g.pub)), []byte(" "+name)...),
		PrivateKey: private, rsaPublic: g.rsaPublic, CreateTime: s.clock.Now(),
	}
	if s.keyPairs == nil {
		s.keyPairs = map[string]*KeyPair{}
	}
	s.keyPairs[name] = kp
	return kp
}

func checkKeyName(name string) *APIError {
	if name == "" {
		return errf("MissingParameter", 400, "The request must contain the parameter KeyName")
	}
	if len(name) > 255 {
		return errf("InvalidParameterValue", 400, "Value (%s) for parameter keyName is invalid. Length exceeds maximum of 255.", name)
	}
	return nil
}

func duplicateKeyPair(name string) *APIError {
	return errf("InvalidKeyPair.Duplicate", 400, "The keypair '%s' already exists.", name)
}

func (s *Sim) createKeyPair(r *request) (any, *APIError) {
	name, keyType := r.Params.Get("KeyName"), r.Params.Get("KeyType")
	if apiErr := checkKeyName(name); apiErr != nil {
		return nil, apiErr
	}
	if keyType != "" && keyType != "rsa" && keyType != "ed25519" {
		return nil, errf("InvalidParameterValue", 400, "Value (%s) for parameter keyType is invalid. Valid values are rsa, ed25519.", keyType)
	}
	if f := r.Params.Get("KeyFormat"); f != "" && f != "pem" {
		return nil, errf("InvalidParameterValue", 400, "The simulator only returns keyFormat pem, not %s.", f)
	}
	if s.keyPairs[name] != nil {
		return nil, duplicateKeyPair(name)
	}
	// RSA generation takes tens of milliseconds: do it without the lock
	// (call holds it for the handler) so the world keeps moving.
	s.mu.Unlock()
	g, err := generateKey(keyType)
	s.mu.Lock()
	if err != nil {
		return nil, errf("InternalError", 500, "%v", err)
	}
	if s.keyPairs[name] != nil {
		return nil, duplicateKeyPair(name)
	}
	kp := s.storeKeyPairLocked(name, g, g.privatePEM)
	return struct {
		XMLName     xml.Name `xml:"result"`
		KeyName     string   `xml:"keyName"`
		Fingerprint string   `xml:"keyFingerprint"`
		Material    string   `xml:"keyMaterial"`
		KeyPairID   string   `xml:"keyPairId"`
	}{xml.Name{}, kp.Name, kp.Fingerprint, string(kp.PrivateKey), kp.ID}, nil
}

func (s *Sim) importKeyPair(r *request) (any, *APIError) {
	name := r.Params.Get("KeyName")
	if apiErr := checkKeyName(name); apiErr != nil {
		return nil, apiErr
	}
	material, err := base64.StdEncoding.DecodeString(r.Params.Get("PublicKeyMaterial"))
	if err != nil || len(material) == 0 {
		return nil, errf("InvalidKey.Format", 400, keyFormatMessage)
	}
	if s.keyPairs[name] != nil {
		return nil, duplicateKeyPair(name)
	}
	g, err := parseImportedKey(material)
	if err != nil {
		return nil, errf("InvalidKey.Format", 400, keyFormatMessage)
	}
	kp := s.storeKeyPairLocked(name, g, nil)
	return struct {
		XMLName     xml.Name `xml:"result"`
		KeyName     string   `xml:"keyName"`
		Fingerprint string   `xml:"keyFingerprint"`
		KeyPairID   string   `xml:"keyPairId"`
	}{xml.Name{}, kp.Name, kp.Fingerprint, kp.ID}, nil
}

type keyPairXML struct {
	KeyPairID   string `xml:"keyPairId"`
	KeyName     string `xml:"keyName"`
	Fingerprint string `xml:"keyFingerprint"`
	KeyType     string `xml:"keyType"`
	PublicKey   string `xml:"publicKey,omitempty"`
	CreateTime  string `xml:"createTime"`
}

func (s *Sim) describeKeyPairs(r *request) (any, *APIError) {
	var kps []*KeyPair
	names, ids := ec2List(r.Params, "KeyName"), ec2List(r.Params, "KeyPairId")
	for _, name := range names {
		kp := s.keyPairs[name]
		if kp == nil {
			return nil, errf("InvalidKeyPair.NotFound", 400, "The key pair '%s' does not exist", name)
		}
		kps = append(kps, kp)
	}
	for _, id := range ids {
		kp := s.keyPairByIDLocked(id)
		if kp == nil {
			return nil, errf("InvalidKeyPair.NotFound", 400, "The key pair '%s' does not exist", id)
		}
		kps = append(kps, kp)
	}
	if len(names) == 0 && len(ids) == 0 {
		for _, kp := range s.keyPairs {
			kps = append(kps, kp)
		}
	}
	kps, apiErr := ec2ApplyFilters(kps, ec2Filters(r.Params), func(*KeyPair) map[string]string { return nil },
		func(kp *KeyPair, name string) ([]string, bool) {
			if kp == nil {
				kp = &KeyPair{}
			}
			switch name {
			case "key-name":
				return []string{kp.Name}, true
			case "key-pair-id":
				return []string{kp.ID}, true
			case "fingerprint":
				return []string{kp.Fingerprint}, true
			case "key-type":
				return []string{kp.Type}, true
			}
			return nil, false
		})
	if apiErr != nil {
		return nil, apiErr
	}
	sort.Slice(kps, func(i, j int) bool { return kps[i].Name < kps[j].Name })
	out := struct {
		XMLName xml.Name     `xml:"result"`
		Items   []keyPairXML `xml:"keySet>item"`
	}{}
	withPublic := ec2Bool(r.Params, "IncludePublicKey")
	for _, kp := range kps {
		x := keyPairXML{KeyPairID: kp.ID, KeyName: kp.Name, Fingerprint: kp.Fingerprint, KeyType: kp.Type, CreateTime: ec2Time(kp.CreateTime)}
		if withPublic {
			x.PublicKey = string(kp.PublicKey)
		}
		out.Items = append(out.Items, x)
	}
	return out, nil
}

func (s *Sim) keyPairByIDLocked(id string) *KeyPair {
	for _, kp := range s.keyPairs {
		if kp.ID == id {
			return kp
		}
	}
	return nil
}

// deleteKeyPair succeeds for unknown names, as EC2 does.
func (s *Sim) deleteKeyPair(r *request) (any, *APIError) {
	kp := s.keyPairs[r.Params.Get("KeyName")]
	if id := r.Params.Get("KeyPairId"); id != "" {
		kp = s.keyPairByIDLocked(id)
	}
	if r.Params.Get("KeyName") == "" && r.Params.Get("KeyPairId") == "" {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter KeyName or KeyPairId")
	}
	out := struct {
		XMLName   xml.Name `xml:"result"`
		Return    bool     `xml:"return"`
		KeyPairID string   `xml:"keyPairId,omitempty"`
	}{Return: true}
	if kp != nil {
		delete(s.keyPairs, kp.Name)
		out.KeyPairID = kp.ID
	}
	return out, nil
}

// CreateKeyPair creates an RSA key pair as the API does and returns its
// PEM private key.
func (s *Sim) CreateKeyPair(name string) ([]byte, error) {
	g, err := generateKey("rsa")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyPairs[name] != nil {
		return nil, duplicateKeyPair(name)
	}
	return s.storeKeyPairLocked(name, g, g.privatePEM).PrivateKey, nil
}

// ImportKeyPair imports a public key (authorized_keys line or PEM), as the
// API does.
func (s *Sim) ImportKeyPair(name string, publicKey []byte) error {
	g, err := parseImportedKey(publicKey)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyPairs[name] != nil {
		return duplicateKeyPair(name)
	}
	s.storeKeyPairLocked(name, g, nil)
	return nil
}
