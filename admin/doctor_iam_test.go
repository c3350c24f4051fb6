package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// keyRecorder records the SSH public keys sent to EC2 Instance Connect.
type keyRecorder struct {
	next aws.HTTPClient
	mu   sync.Mutex
	keys []string
}

func (r *keyRecorder) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".SendSSHPublicKey") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ SSHPublicKey string }
		_ = json.Unmarshal(body, &in)
		r.mu.Lock()
		r.keys = append(r.keys, in.SSHPublicKey)
		r.mu.Unlock()
	}
	return r.next.Do(req)
}

// doctor probes permissions with the plugin's own table, so it does
// nothing Init's preflight refuses to do, for a config that needs every
// action: it pushes no usable key to an instance, receives nothing from
// the queue, writes no tag, launches nothing and leaves desired capacity
// alone; what it cannot probe it reports as not probed, with the reason.
func TestDoctorProbesOnlyWhatInitsPreflightProbes(t *testing.T) {
	ctx := context.Background()
	w := setUp(t)
	rec := &keyRecorder{next: w.cfg.HTTPClient}
	w.cfg.HTTPClient = rec
	w.must(w.asg().SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("runners"), DesiredCapacity: aws.Int32(1)}))
	waitFor(t, "an in-service member", func() bool {
		for _, i := range w.sim.Instances() {
			if i.Lifecycle == "InService" && i.State == "running" {
				return true
			}
		}
		return false
	})
	target := admin.TargetFor([]byte(`{"name":"runners","interruption_queue_url":"` + w.target.Plugin.InterruptionQueueURL + `",
		"on_demand_fallback":{},"launch_mode":"synchronous","ready_when":"status-ok"}`))
	if target.ConfigErr != nil {
		t.Fatal(target.ConfigErr)
	}
	target.OS = "linux"
	w.target = target
	before, _ := w.sim.Group("runners")
	w.sim.ResetCalls()

	got := resultsByCheck(w.doctor())

	for _, call := range []struct{ svc, action string }{
		{"sqs", "ReceiveMessage"}, {"sqs", "DeleteMessage"}, {"autoscaling", "CreateOrUpdateTags"}, {"autoscaling", "LaunchInstances"},
	} {
		if n := w.sim.CallCount(call.svc, call.action); n != 0 {
			t.Errorf("doctor called %s:%s %d times", call.svc, call.action, n)
		}
	}
	if len(rec.keys) == 0 {
		t.Error("doctor did not probe ec2-instance-connect:SendSSHPublicKey on the member")
	}
	for _, k := range rec.keys {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err == nil {
			t.Errorf("doctor pushed a usable SSH key to an instance: %s", k)
		}
	}
	if after, _ := w.sim.Group("runners"); after.Desired != before.Desired {
		t.Errorf("desired capacity %d → %d", before.Desired, after.Desired)
	}
	for check, want := range map[string]string{
		"iam:ec2-instance-connect:SendSSHPublicKey": "ok allowed",
		"iam:autoscaling:SetDesiredCapacity":        "ok allowed",
		"iam:autoscaling:UpdateAutoScalingGroup":    "ok allowed",
		"iam:autoscaling:DeleteTags":                "ok allowed",
		"iam:ec2:DescribeInstanceStatus":            "ok allowed",
		"iam:sqs:ReceiveMessage":                    "skip not probed: no harmless probe",
		"iam:sqs:DeleteMessage":                     "skip not probed: no harmless probe",
		"iam:autoscaling:CreateOrUpdateTags":        "skip not probed: no harmless probe: every call writes a tag",
		"iam:autoscaling:LaunchInstances":           "skip not probed: no harmless probe: every accepted call launches",
	} {
		r := got[check]
		if line := string(r.Status) + " " + r.Message; !strings.HasPrefix(line, want) {
			t.Errorf("%s: %s, want %q", check, r, want)
		}
	}
}

// Every action doctor reports comes from the table Init's preflight uses.
func TestDoctorIAMChecksAreTheProbeTable(t *testing.T) {
	w := setUp(t)
	var table []string
	for _, p := range ec2spot.PermissionProbes {
		table = append(table, "iam:"+p.Action)
	}
	for _, r := range w.doctor() {
		if strings.HasPrefix(r.Check, "iam:") && !strings.Contains(strings.Join(table, " ")+" ", r.Check+" ") {
			t.Errorf("doctor checks %s, which the probe table does not have", r.Check)
		}
	}
}
