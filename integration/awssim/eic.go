package awssim

import (
	"encoding/json"
	"regexp"
	"time"

	"golang.org/x/crypto/ssh"
)

// EC2 Instance Connect (AWS JSON 1.1): SendSSHPublicKey pushes a key that
// the instance's SSH host accepts for 60 seconds (simulated).

// instanceConnectKeyLifetime is how long a pushed key is accepted.
const instanceConnectKeyLifetime = 60 * time.Second

// osUserRE is the model's pattern for InstanceOSUser (1–32 characters).
var osUserRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9$_-]?$`)

var eicInstanceIDRE = regexp.MustCompile(`^i-[a-f0-9]+$`)

func invalidArgs(msg string) *APIError {
	return &APIError{Code: "InvalidArgsException", Message: msg, Status: 400}
}

func (s *Sim) sendSSHPublicKey(r *request) (any, *APIError) {
	var in struct {
		InstanceID       string `json:"InstanceId"`
		InstanceOSUser   string `json:"InstanceOSUser"`
		SSHPublicKey     string `json:"SSHPublicKey"`
		AvailabilityZone string `json:"AvailabilityZone"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return nil, errf("SerializationException", 400, "Start of structure or map found where not expected.")
	}
	switch {
	case in.InstanceID == "", in.InstanceOSUser == "", in.SSHPublicKey == "":
		return nil, errf("ValidationException", 400, "1 validation error detected: InstanceId, InstanceOSUser and SSHPublicKey are required")
	case !eicInstanceIDRE.MatchString(in.InstanceID) || len(in.InstanceID) < 10 || len(in.InstanceID) > 32:
		return nil, invalidArgs("Instance ID is not valid")
	case !osUserRE.MatchString(in.InstanceOSUser):
		return nil, invalidArgs("The provided OS user is not valid")
	case len(in.SSHPublicKey) < 80 || len(in.SSHPublicKey) > 4096:
		return nil, invalidArgs("The SSH public key must be between 80 and 4096 characters long")
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(in.SSHPublicKey))
	if err != nil || (key.Type() != ssh.KeyAlgoRSA && key.Type() != ssh.KeyAlgoED25519) {
		return nil, invalidArgs("The SSH public key is not valid. Only RSA and ED25519 keys are supported")
	}
	inst := s.instances[in.InstanceID]
	if inst == nil {
		return nil, errf("EC2InstanceNotFoundException", 400, "Instance not found")
	}
	if in.AvailabilityZone != "" && in.AvailabilityZone != inst.AZ {
		return nil, invalidArgs("Availability zone does not match the instance's availability zone")
	}
	if inst.State != "running" {
		return nil, errf("EC2InstanceStateInvalidException", 400, "Instance is not in valid state")
	}
	if h := s.b.sshHosts[inst.ID]; h != nil {
		// An OS user the image lacks is not an API error: the key is pushed
		// and SSH login fails, as on EC2.
		h.AuthorizeTemporary(in.InstanceOSUser, key, s.clock.Now().Add(instanceConnectKeyLifetime))
	}
	return struct {
		RequestID string `json:"RequestId"`
		Success   bool   `json:"Success"`
	}{r.RequestID, true}, nil
}
