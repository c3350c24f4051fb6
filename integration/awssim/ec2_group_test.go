package awssim_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// groupInstances lists the group's live instances through DescribeInstances.
func groupInstances(t *testing.T, c *bClients, group string) []types.Instance {
	t.Helper()
	out, err := c.ec2.DescribeInstances(bCtx(t), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{group}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var insts []types.Instance
	for _, r := range out.Reservations {
		insts = append(insts, r.Instances...)
	}
	return insts
}

// TestEC2GroupInstances: group instances are ordinary EC2 instances (SSH
// with the group's key pair included), and terminating one through EC2 makes
// the group replace it.
func TestEC2GroupInstances(t *testing.T) {
	c := newBSim(t, awssim.Options{SSH: &awssim.SSHOptions{}})
	ctx := bCtx(t)
	keyPEM, err := c.sim.CreateKeyPair("runners")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.ParsePrivateKey(keyPEM)
	if err := c.sim.CreateGroup(awssim.GroupSpec{Name: "ci", Desired: 2, KeyName: "runners"}); err != nil {
		t.Fatal(err)
	}
	var insts []types.Instance
	eventually(t, "two running group instances", func() bool {
		c.sim.Advance(30 * time.Second)
		insts = groupInstances(t, c, "ci")
		return len(insts) == 2 && insts[0].State.Name == types.InstanceStateNameRunning
	})
	victim := insts[0]
	if victim.State.Name != types.InstanceStateNameRunning || aws.ToString(victim.KeyName) != "runners" {
		t.Fatalf("group instance %+v", victim)
	}

	addr := net.JoinHostPort(aws.ToString(victim.PrivateIpAddress), strconv.Itoa(c.sim.SSHPort()))
	cl, err := sshDial(addr, "ec2-user", signer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sshRun(cl, "echo job ran")
	cl.Close()
	if err != nil || out != "job ran\n" {
		t.Fatalf("ssh: %q %v", out, err)
	}

	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(victim.InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	c.sim.Advance(time.Minute)
	eventually(t, "a replacement", func() bool {
		c.sim.Advance(10 * time.Second)
		insts = groupInstances(t, c, "ci")
		for _, inst := range insts {
			if aws.ToString(inst.InstanceId) == aws.ToString(victim.InstanceId) {
				return false
			}
		}
		return len(insts) == 2
	})
}

// TestEventControlHTTP drives queue and event routing through /_sim/.
func TestEventControlHTTP(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	post := func(path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.sim.URL()+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	url, _ := post("/_sim/queues", map[string]string{"name": "ctl"})["url"].(string)
	post("/_sim/subscriptions", map[string]any{"queue": "ctl", "detail_types": []string{"EC2 Spot Instance Interruption Warning"}})
	post("/_sim/event-delivery", map[string]bool{"duplicate": true})
	post("/_sim/queues/messages", map[string]string{"queue": "ctl", "body": "not json"})
	if err := c.sim.Interrupt(runSpot(t, c), ""); err != nil {
		t.Fatal(err)
	}
	bodies := receiveAll(t, c, url)
	if len(bodies) != 3 || bodies[0] != "not json" || bodies[1] != bodies[2] {
		t.Fatalf("bodies %q", bodies)
	}
}
