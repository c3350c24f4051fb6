package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"golang.org/x/crypto/ssh"
)

const repeatsPerInstance = 3

// BenchmarkConnectInfo: the first and the repeated ConnectInfo of an
// instance of the 1000-instance group, against the bare calls they need
// (DescribeInstances + SendSSHPublicKey first, SendSSHPublicKey after).
func BenchmarkConnectInfo(b *testing.B) {
	name, p := sizedPlugin(b, groupCase{1000, spot})
	ids := inService(w.sim, name)
	k := min(b.N**samples/2, len(ids)) // each id gets one first and repeated calls
	ids = ids[:k]
	ctx := context.Background()

	cfg := bareConfig(w.sim)
	bareEC2, bareEIC := ec2.NewFromConfig(cfg), ec2instanceconnect.NewFromConfig(cfg)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(b, err)
	sshPub, err := ssh.NewPublicKey(pub)
	must(b, err)
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	push := func(id, az string) error {
		_, err := bareEIC.SendSSHPublicKey(ctx, &ec2instanceconnect.SendSSHPublicKeyInput{
			InstanceId: aws.String(id), InstanceOSUser: aws.String("ec2-user"), SSHPublicKey: aws.String(authorized), AvailabilityZone: aws.String(az),
		})
		return err
	}

	w.sim.ResetCalls()
	var first, repeated []time.Duration
	keys := map[string]bool{}
	for _, id := range ids {
		for n := range 1 + repeatsPerInstance {
			start := time.Now()
			info, err := p.group.ConnectInfo(ctx, id)
			d := time.Since(start)
			must(b, err)
			keys[string(info.Key)] = true
			if n == 0 {
				first = append(first, d)
			} else {
				repeated = append(repeated, d)
			}
		}
	}
	calls := w.sim.Calls()
	describes := float64(calls["ec2:DescribeInstances"]) / float64(k)

	var floorFirst, floorRepeated []time.Duration
	for _, id := range ids {
		start := time.Now()
		out, err := bareEC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		must(b, err)
		az := aws.ToString(out.Reservations[0].Instances[0].Placement.AvailabilityZone)
		must(b, push(id, az))
		floorFirst = append(floorFirst, time.Since(start))
		start = time.Now()
		must(b, push(id, az))
		floorRepeated = append(floorRepeated, time.Since(start))
	}

	for _, c := range []struct {
		name        string
		ours, floor []time.Duration
		floorCalls  string
	}{
		{"first", first, floorFirst, "DescribeInstances + SendSSHPublicKey"},
		{"repeated", repeated, floorRepeated, "SendSSHPublicKey"},
	} {
		o, f := percentile(c.ours, 50), percentile(c.floor, 50)
		b.ReportMetric(ms(o), c.name+"-p50-ms")
		b.ReportMetric(ms(f), c.name+"-floor-p50-ms")
		rows.Add(Row{
			Section: SectionConnect,
			Figure:  fmt.Sprintf("ConnectInfo %s call p50 (p99)", c.name),
			Value:   fmt.Sprintf("%.1f ms (%.1f ms)", ms(o), ms(percentile(c.ours, 99))),
			Floor:   fmt.Sprintf("%.1f ms (bare %s)", ms(f), c.floorCalls),
			Ratio:   fmt.Sprintf("%.2f×", ms(o)/ms(f)),
		})
	}
	b.ReportMetric(describes, "describe-instances/instance")
	rows.Add(Row{
		Section: SectionConnect,
		Figure:  fmt.Sprintf("DescribeInstances per instance lifetime (%d instances × %d ConnectInfo)", k, 1+repeatsPerInstance),
		Value:   fmt.Sprintf("%g", describes),
		Goal:    "≤ 1",
		Met:     Met(describes <= 1),
	})
	b.ReportMetric(float64(len(keys)), "keys/process")
	rows.Add(Row{
		Section: SectionConnect,
		Figure:  "SSH keys generated per plugin process",
		Value:   fmt.Sprintf("%d (distinct keys in %d ConnectInfo replies)", len(keys), k*(1+repeatsPerInstance)),
		Goal:    "once",
		Met:     Met(len(keys) == 1),
	})
}
