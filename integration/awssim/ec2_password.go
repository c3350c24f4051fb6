package awssim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/xml"
)

// GetPasswordData: a Windows instance's Administrator password, encrypted
// with the launch key pair's RSA key (PKCS#1 v1.5) as EC2Config/EC2Launch
// do, available only once the instance has generated it.

func (s *Sim) getPasswordData(r *request) (any, *APIError) {
	id := r.Params.Get("InstanceId")
	if id == "" {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter InstanceId")
	}
	insts, apiErr := s.instancesByIDLocked([]string{id})
	if apiErr != nil {
		return nil, apiErr
	}
	inst := insts[0]
	out := struct {
		XMLName      xml.Name `xml:"result"`
		InstanceID   string   `xml:"instanceId"`
		Timestamp    string   `xml:"timestamp"`
		PasswordData string   `xml:"passwordData"`
	}{InstanceID: inst.ID, Timestamp: ec2Time(s.clock.Now())}
	// Linux instances and Windows ones still booting answer with empty
	// data, not an error.
	if inst.Platform != "windows" || inst.Password == "" || inst.passwordAt.IsZero() || s.clock.Now().Before(inst.passwordAt) {
		return out, nil
	}
	out.Timestamp = ec2Time(inst.passwordAt)
	kp := s.keyPairs[inst.KeyName]
	if kp == nil || kp.rsaPublic == nil {
		return out, nil // no RSA key to encrypt to: nothing retrievable
	}
	//nolint:staticcheck // SA1019: EC2 encrypts Windows passwords with PKCS #1 v1.5; clients decrypt it so
	enc, err := rsa.EncryptPKCS1v15(rand.Reader, kp.rsaPublic, []byte(inst.Password))
	if err != nil {
		return nil, errf("InternalError", 500, "%v", err)
	}
	out.PasswordData = base64.StdEncoding.EncodeToString(enc)
	return out, nil
}
