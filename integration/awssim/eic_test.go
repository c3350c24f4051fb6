package awssim_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	eictypes "github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect/types"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func newEd25519(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sshDial(addr, user string, key ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
}

func sshRun(c *ssh.Client, cmd string) (string, error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.Output(cmd)
	return string(out), err
}

// TestInstanceConnectSSH is the Instance Connect scenario: a key pushed with
// SendSSHPublicKey opens an SSH session that runs a command on the
// instance's host, and is refused 60 simulated seconds later.
func TestInstanceConnectSSH(t *testing.T) {
	c := newBSim(t, awssim.Options{SSH: &awssim.SSHOptions{}})
	ctx := bCtx(t)
	keyPEM, err := c.sim.CreateKeyPair("launch")
	if err != nil {
		t.Fatal(err)
	}
	launchKey, _ := ssh.ParsePrivateKey(keyPEM)
	id := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64), KeyName: aws.String("launch")})[0]
	pending := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64)})[0]

	key := newEd25519(t)
	pub := string(ssh.MarshalAuthorizedKey(key.PublicKey()))
	send := func(instanceID, user, key, az string) error {
		in := &ec2instanceconnect.SendSSHPublicKeyInput{InstanceId: aws.String(instanceID), InstanceOSUser: aws.String(user), SSHPublicKey: aws.String(key)}
		if az != "" {
			in.AvailabilityZone = aws.String(az)
		}
		out, err := c.eic.SendSSHPublicKey(ctx, in)
		if err == nil && (!out.Success || aws.ToString(out.RequestId) == "") {
			t.Fatalf("output %+v", out)
		}
		return err
	}

	if err := send(pending, "ec2-user", pub, ""); !errors.As(err, new(*eictypes.EC2InstanceStateInvalidException)) {
		t.Fatalf("pending instance: %v", err)
	}
	c.sim.Advance(time.Minute) // both running now
	if err := c.sim.SSHError(); err != nil {
		t.Fatal(err)
	}
	inst, _ := c.sim.Instance(id)
	port := strconv.Itoa(c.sim.SSHPort())
	privateAddr, publicAddr := net.JoinHostPort(inst.PrivateIP, port), net.JoinHostPort(inst.PublicIP, port)

	t.Run("errors", func(t *testing.T) {
		rsaShort := "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ"
		tests := []struct {
			name             string
			id, user, key, z string
			target           any
			code             string
		}{
			{"unknown instance", "i-0123456789abcdef0", "ec2-user", pub, "", new(*eictypes.EC2InstanceNotFoundException), "EC2InstanceNotFoundException"},
			{"short key", id, "ec2-user", rsaShort, "", new(*eictypes.InvalidArgsException), "InvalidArgsException"},
			{"not a key", id, "ec2-user", strings.Repeat("x", 100), "", new(*eictypes.InvalidArgsException), "InvalidArgsException"},
			{"bad user", id, "9 bad user", pub, "", new(*eictypes.InvalidArgsException), "InvalidArgsException"},
			{"wrong az", id, "ec2-user", pub, "us-east-1z", new(*eictypes.InvalidArgsException), "InvalidArgsException"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := send(tc.id, tc.user, tc.key, tc.z)
				if !errors.As(err, tc.target) {
					t.Fatalf("error %v (%T) is not %T", err, err, tc.target)
				}
				wantAPIError(t, err, tc.code, "")
			})
		}
	})

	t.Run("launch key pair", func(t *testing.T) {
		cl, err := sshDial(publicAddr, "ec2-user", launchKey)
		if err != nil {
			t.Fatal(err)
		}
		cl.Close()
	})

	if _, err := sshDial(privateAddr, "ec2-user", key); err == nil {
		t.Fatal("key accepted before SendSSHPublicKey")
	}
	if err := send(id, "ec2-user", pub, inst.AZ); err != nil {
		t.Fatal(err)
	}
	cl, err := sshDial(privateAddr, "ec2-user", key)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out, err := sshRun(cl, "echo 'hello world'")
	if err != nil || out != "hello world\n" {
		t.Fatalf("command: %q, %v", out, err)
	}
	if cmds := c.sim.SSHHost(id).Commands(); len(cmds) != 1 || cmds[0] != "echo 'hello world'" {
		t.Fatalf("host commands %q", cmds)
	}

	c.sim.Advance(61 * time.Second)
	if _, err := sshDial(privateAddr, "ec2-user", key); err == nil {
		t.Fatal("Instance Connect key accepted after 60 s")
	}
	if out, err := sshRun(cl, "echo still"); err != nil || out != "still\n" {
		t.Fatalf("established connection after expiry: %q, %v", out, err)
	}

	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sshRun(cl, "true"); err == nil {
		t.Fatal("session survived termination")
	}
	if c.sim.SSHHost(id) != nil {
		t.Fatal("SSH host still registered after termination")
	}
	if err := send(id, "ec2-user", pub, ""); !errors.As(err, new(*eictypes.EC2InstanceStateInvalidException)) {
		t.Fatalf("terminating instance: %v", err)
	}
}

func TestSSHHostsSkipWindows(t *testing.T) {
	c := newBSim(t, awssim.Options{SSH: &awssim.SSHOptions{}})
	id := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageWindowsAMD64), InstanceType: types.InstanceTypeM5Large})[0]
	c.sim.Advance(time.Minute)
	if c.sim.SSHHost(id) != nil {
		t.Fatal("Windows instance has an SSH host")
	}
}
