package awssim_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// TestFleetingConnector runs fleeting's own SSH connector against an
// instance's host, as GitLab Runner will, with an Instance Connect key:
// stdout carries the output and stderr stays empty (fleeting checks both).
func TestFleetingConnector(t *testing.T) {
	c := newBSim(t, awssim.Options{SSH: &awssim.SSHOptions{}})
	ctx := bCtx(t)
	id := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64)})[0]
	c.sim.Advance(time.Minute)
	inst, _ := c.sim.Instance(id)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.eic.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
		InstanceId: aws.String(id), InstanceOSUser: aws.String("ec2-user"), SSHPublicKey: aws.String(string(ssh.MarshalAuthorizedKey(sshPub))),
	}); err != nil {
		t.Fatal(err)
	}

	info := provider.ConnectInfo{
		ConnectorConfig: provider.ConnectorConfig{
			OS: "linux", Arch: "amd64", Protocol: provider.ProtocolSSH, ProtocolPort: c.sim.SSHPort(),
			Username: "ec2-user", Key: pem.EncodeToMemory(block), Keepalive: 30 * time.Second, Timeout: 5 * time.Second,
		},
		ID: id, InternalAddr: inst.PrivateIP, ExternalAddr: inst.PublicIP,
	}
	for _, external := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		err := connector.Run(ctx, info, connector.ConnectorOptions{
			RunOptions:  connector.RunOptions{Command: "echo 'hello world'", Stdout: &stdout, Stderr: &stderr},
			DialOptions: connector.DialOptions{UseExternalAddr: external},
		})
		if err != nil || stdout.String() != "hello world\n" || stderr.Len() != 0 {
			t.Fatalf("external=%v: err %v, stdout %q, stderr %q", external, err, stdout.String(), stderr.String())
		}
	}
	var stderr bytes.Buffer
	err = connector.Run(ctx, info, connector.ConnectorOptions{RunOptions: connector.RunOptions{Command: "echo bad >&2; exit 7", Stderr: &stderr}})
	var exitErr *connector.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 || stderr.String() != "bad\n" {
		t.Fatalf("failing command: %v (%T), stderr %q", err, err, stderr.String())
	}
}
