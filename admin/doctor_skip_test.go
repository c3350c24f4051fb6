package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

func resultsByCheck(results []admin.Result) map[string]admin.Result {
	m := map[string]admin.Result{}
	for _, r := range results {
		m[r.Check] = r
	}
	return m
}

// With scale-in protection off the unprotected-instances rule does not
// look (every instance is unprotected by design): doctor says it skipped
// it, why, and which instances are unprotected, never "every instance is
// protected".
func TestDoctorSaysSkippedForUnprotectedInstancesWhileProtectionIsOff(t *testing.T) {
	ctx := context.Background()
	w := setUp(t)
	name := aws.String("runners")
	w.must(w.asg().UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: name, NewInstancesProtectedFromScaleIn: aws.Bool(false)}))
	w.must(w.asg().SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(1)}))
	var id string
	waitFor(t, "an unprotected instance", func() bool {
		for _, i := range w.sim.Instances() {
			if i.Group == "runners" && i.Lifecycle == "InService" && !i.ProtectedFromScaleIn {
				id = i.ID
				return true
			}
		}
		return false
	})
	got := resultsByCheck(w.doctor())
	r := got[ec2spot.CheckUnprotectedInstances]
	if r.Status != admin.StatusSkip || !strings.Contains(r.Message, "skipped") || !strings.Contains(r.Message, "scale-in protection") || !strings.Contains(r.Message, id) {
		t.Errorf("unprotected_instances with protection off and %s unprotected: %s", id, r)
	}
	if r := got[ec2spot.CheckScaleInProtection]; r.Status != admin.StatusFail {
		t.Errorf("scale_in_protection: %s", r)
	}
	var out strings.Builder
	admin.WriteResults(&out, w.doctor())
	if !strings.Contains(out.String(), "skip  unprotected_instances: skipped while") || !strings.Contains(out.String(), ", 4 skipped\n") {
		// unprotected_instances, launch_hook, and the queue's two actions,
		// which no call probes without effect
		t.Errorf("report:\n%s", out.String())
	}
}

// LaunchInstances is only called with launch_mode = "synchronous": a
// healthy asynchronous set-up gets no warning about it, a synchronous one
// is told it was not probed.
func TestDoctorWarnsAboutLaunchInstancesOnlyWhenTheConfigUsesIt(t *testing.T) {
	w := setUp(t)
	for _, tc := range []struct {
		launchMode string
		status     admin.Status
		want       string
	}{
		{"", admin.StatusOK, "not needed: launch_mode is asynchronous"},
		{"asynchronous", admin.StatusOK, "not needed: launch_mode is asynchronous"},
		{"synchronous", admin.StatusSkip, "not probed: no harmless probe: every accepted call launches"},
	} {
		w.target.Plugin.LaunchMode = tc.launchMode
		results := w.doctor()
		r := resultsByCheck(results)["iam:autoscaling:LaunchInstances"]
		if r.Status != tc.status || !strings.Contains(r.Message, tc.want) {
			t.Errorf("launch_mode %q: %s", tc.launchMode, r)
		}
		if tc.launchMode == "synchronous" {
			continue
		}
		for _, r := range results {
			// Skipped: the launch hook (ready_when = running), and the IAM
			// actions the probe table cannot probe here (the queue's; Instance
			// Connect before the group has an instance).
			skipped := r.Check == ec2spot.CheckLaunchHook || strings.HasPrefix(r.Check, "iam:") && strings.HasPrefix(r.Message, "not probed: ")
			if r.Status != admin.StatusOK && (r.Status != admin.StatusSkip || !skipped) {
				t.Errorf("launch_mode %q, healthy set-up: %s", tc.launchMode, r)
			}
		}
	}
}

// doctor reads plugin_config through the plugin's door: launch_mode, and
// every default the plugin uses (the retry mode was "standard" in doctor's
// own model, "adaptive" in the plugin then).
func TestDoctorReadsPluginConfigAsThePluginDoes(t *testing.T) {
	tg := admin.TargetFor([]byte(`{"name":"runners","launch_mode":"synchronous"}`))
	if tg.ConfigErr != nil || tg.Plugin.LaunchMode != "synchronous" {
		t.Fatalf("%+v %v", tg.Plugin, tg.ConfigErr)
	}
	tg = admin.TargetFor([]byte(`{"name":"runners"}`))
	var got ec2spot.AWSOptions
	admin.RunDoctor(context.Background(), tg, func(_ context.Context, o ec2spot.AWSOptions) (aws.Config, error) {
		got = o
		return aws.Config{}, errors.New("stop here")
	})
	want := provider.Config{RetryMode: provider.DefaultRetryMode, RetryMaxAttempts: provider.DefaultRetryMaxAttempts,
		APICallTimeout: provider.Duration{Duration: provider.DefaultAPICallTimeout}}.AWSOptions()
	if got.RetryMode != want.RetryMode || got.RetryMaxAttempts != want.RetryMaxAttempts || got.CallTimeout != want.CallTimeout ||
		got.RateLimits.AutoScaling.Rate != provider.DefaultAutoScalingRate {
		t.Errorf("doctor reaches AWS with %+v, the plugin with retry %s × %d, timeout %s, Auto Scaling %d/s",
			got, want.RetryMode, want.RetryMaxAttempts, want.CallTimeout, provider.DefaultAutoScalingRate)
	}
}
