package driver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

func TestIdleCountIsKept(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{Policies: []driver.Policy{{IdleCount: 2, IdleTime: 30 * time.Second}}})
	r.waitFor("2 ready instances", 5*time.Minute, func() bool { return r.d.Stats().Ready == 2 })
	r.sleep(3 * time.Minute) // well past idle_time
	if st := r.d.Stats(); st.Ready != 2 || st.Creating != 0 {
		t.Errorf("stats %+v, want exactly 2 ready idle instances", st)
	}
	if n := r.count(driver.InstanceState, func(e driver.Event) bool { return e.State == "removing" }); n != 0 {
		t.Errorf("%d idle instances removed though idle_count needs them\n%s", n, r.dump())
	}
	requested := 0
	for _, e := range r.all() {
		if e.Kind == driver.ScaleUp {
			requested += e.Count
		}
	}
	if requested != 2 {
		t.Errorf("requested %d instances, want 2", requested)
	}
}

func TestIdleInstancesRemovedAfterIdleTime(t *testing.T) {
	t.Parallel()
	const idleTime = 2 * time.Minute
	r := newRig(t, driver.Config{Policies: []driver.Policy{{IdleCount: 0, IdleTime: idleTime}}})
	r.d.Submit(driver.Job{ID: 1, Duration: 30 * time.Second})
	r.d.Submit(driver.Job{ID: 2, Duration: 30 * time.Second})
	r.waitFor("2 jobs done", 5*time.Minute, func() bool { return r.d.Stats().Done == 2 })
	r.waitFor("idle instances removed", 5*time.Minute, func() bool {
		return r.count(driver.InstanceState, func(e driver.Event) bool { return e.State == "removing" }) == 2
	})
	doneAt := map[string]time.Time{}
	for _, e := range r.all() {
		switch {
		case e.Kind == driver.JobDone:
			doneAt[e.Instance] = e.At
		case e.Kind == driver.InstanceState && e.State == "removing":
			idle := e.At.Sub(doneAt[e.Instance])
			if idle < idleTime-2*time.Second {
				t.Errorf("%s removed after %s idle, before idle_time %s\n%s", e.Instance, idle, idleTime, r.dump())
			}
			if !strings.Contains(e.Detail, "idle_time") {
				t.Errorf("%s removed because %q", e.Instance, e.Detail)
			}
		}
	}
	if st := r.d.Stats(); st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxUseCountIsHonoured(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{MaxUseCount: 2, MaxInstances: 2, Policies: []driver.Policy{{IdleTime: time.Hour}}})
	for i := 1; i <= 6; i++ {
		r.d.Submit(driver.Job{ID: i, Duration: 20 * time.Second})
	}
	r.waitFor("6 jobs done", 10*time.Minute, func() bool { return r.d.Stats().Done == 6 })
	uses := map[string]int{}
	for _, e := range r.all() {
		if e.Kind == driver.JobStarted {
			uses[e.Instance]++
		}
	}
	if len(uses) < 3 {
		t.Errorf("6 jobs ran on %d instances; with max_use_count 2 they need 3", len(uses))
	}
	for id, n := range uses {
		if n > 2 {
			t.Errorf("%s ran %d jobs, max_use_count is 2", id, n)
		}
	}
	if n := r.count(driver.InstanceState, func(e driver.Event) bool { return e.Detail == "max_use_count reached" }); n < 2 {
		t.Errorf("%d instances removed for max_use_count, want ≥ 2\n%s", n, r.dump())
	}
}

func TestNoPlacementOnUnhealthyOrDeletingInstances(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{Policies: []driver.Policy{{IdleCount: 3, IdleTime: time.Hour}}})
	// Keep the group from replacing the unhealthy instance itself, so the
	// plugin's heartbeat is what tells the driver.
	asg := autoscaling.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIATEST0000000000", "x", ""),
		BaseEndpoint: aws.String(r.sim.URL()), HTTPClient: ec2spot.NewHTTPClient(0)})
	if _, err := asg.SuspendProcesses(context.Background(), &autoscaling.SuspendProcessesInput{
		AutoScalingGroupName: aws.String("runners"), ScalingProcesses: []string{"ReplaceUnhealthy", "HealthCheck"},
	}); err != nil {
		t.Fatal(err)
	}
	r.waitFor("3 ready instances", 5*time.Minute, func() bool { return r.d.Stats().Ready == 3 })
	ready := r.withState("ready")
	sick, leaving := ready[0], ready[1]
	if err := r.sim.SetHealth(sick, "Unhealthy"); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.SetLifecycleState(leaving, "Terminating:Wait"); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the driver to see both", 5*time.Minute, func() bool {
		sawSick := r.count(driver.InstanceState, func(e driver.Event) bool {
			return e.Instance == sick && (e.State == "unhealthy" || e.State == "deleting")
		}) > 0
		sawLeaving := r.count(driver.InstanceState, func(e driver.Event) bool {
			return e.Instance == leaving && e.State == "deleting"
		}) > 0
		return sawSick && sawLeaving
	})
	for i := 1; i <= 4; i++ {
		r.d.Submit(driver.Job{ID: i, Duration: 30 * time.Second})
	}
	r.waitFor("4 jobs done", 10*time.Minute, func() bool { return r.d.Stats().Done == 4 })
	for _, e := range r.all() {
		if e.Kind == driver.JobStarted && (e.Instance == sick || e.Instance == leaving) {
			t.Errorf("job %d placed on %s, which is unhealthy or deleting\n%s", e.Job, e.Instance, r.dump())
		}
	}
	if n := r.count(driver.InstanceState, func(e driver.Event) bool { return e.Instance == sick && e.State == "unhealthy" }); n == 0 {
		t.Logf("the unhealthy instance was seen deleting before its heartbeat failed")
	}
}

func TestJobFailsWhenItsInstanceIsRemoved(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{})
	r.d.Submit(driver.Job{ID: 1, Duration: time.Hour})
	r.waitFor("the job to connect", 5*time.Minute, func() bool { return r.count(driver.JobConnected, nil) == 1 })
	var id string
	for _, e := range r.all() {
		if e.Kind == driver.JobStarted {
			id = e.Instance
		}
	}
	if err := r.sim.TerminateExternally(id); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the job to fail", 5*time.Minute, func() bool { return r.d.Stats().Failed == 1 })
	if n := r.count(driver.JobFailed, func(e driver.Event) bool { return e.Cause == driver.CauseInstanceRemoved }); n != 1 {
		t.Errorf("want the job failed with %q\n%s", driver.CauseInstanceRemoved, r.dump())
	}
}

// GitLab's `retry: {max: 1, when: runner_system_failure}`: a job whose
// instance vanished runs again on another and counts as done, its failed
// run still reported; the retry's wait starts when it is queued again.
func TestJobLostWithItsInstanceIsRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{Retry: 1})
	r.d.Submit(driver.Job{ID: 1, Duration: 2 * time.Minute})
	r.waitFor("the job to connect", 5*time.Minute, func() bool { return r.count(driver.JobConnected, nil) == 1 })
	var first string
	for _, e := range r.all() {
		if e.Kind == driver.JobStarted {
			first = e.Instance
		}
	}
	if err := r.sim.TerminateExternally(first); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the retry to finish", 10*time.Minute, func() bool { return r.d.Stats().Done == 1 })
	st := r.d.Stats()
	if st.Failed != 0 || st.Retried != 1 {
		t.Errorf("stats %+v, want 0 failed for good and 1 retried\n%s", st, r.dump())
	}
	var failedAt, requeuedAt time.Time
	starts := 0
	for _, e := range r.all() {
		switch {
		case e.Kind == driver.JobFailed:
			failedAt = e.At
		case e.Kind == driver.JobQueued && e.Detail == "retry 1 of 1":
			requeuedAt = e.At
		case e.Kind == driver.JobStarted:
			starts++
			if starts == 2 {
				if e.Instance == first {
					t.Errorf("the retry ran on the vanished instance %s", first)
				}
				// Wait and At are read from the clock a moment apart.
				if got := e.At.Sub(requeuedAt); (e.Wait - got).Abs() > time.Second {
					t.Errorf("retry's wait %s, want about %s (from its queueing again)", e.Wait, got)
				}
			}
		}
	}
	if failedAt.IsZero() || requeuedAt.Before(failedAt) || starts != 2 {
		t.Errorf("want a failed run, then the job queued again and started a second time\n%s", r.dump())
	}
}

func TestAcquireTimeoutWithoutCapacity(t *testing.T) {
	t.Parallel()
	r := newRig(t, driver.Config{AcquireTimeout: 2 * time.Minute})
	for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
		r.sim.SetPoolCapacity(typ, "", awssim.Spot, 0)
		r.sim.SetPoolCapacity(typ, "", awssim.OnDemand, 0)
	}
	r.d.Submit(driver.Job{ID: 1, Duration: time.Minute})
	r.waitFor("the job to time out", 5*time.Minute, func() bool { return r.d.Stats().Failed == 1 })
	for _, e := range r.all() {
		if e.Kind == driver.JobFailed && e.Cause != driver.CauseAcquireTimeout {
			t.Errorf("job failed with %q, want %q", e.Cause, driver.CauseAcquireTimeout)
		}
	}
}
