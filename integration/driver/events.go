package driver

import "time"

// EventKind names what happened.
type EventKind string

const (
	JobQueued    EventKind = "job_queued"    // arrived in the (GitLab) queue
	JobStarted   EventKind = "job_started"   // acquired a slot; Wait = since queued
	JobConnected EventKind = "job_connected" // the connect command ran; Connect = since acquired
	JobDone      EventKind = "job_done"
	JobFailed    EventKind = "job_failed" // Cause says why
	// InstanceState is a provisioner state change, or the driver's own
	// verdicts: "ready", "unhealthy", "removing".
	InstanceState EventKind = "instance"
	ScaleUp       EventKind = "scale_up" // Count instances requested
)

// Failure causes.
const (
	CauseInstanceRemoved = "instance unexpectedly removed"
	CauseAcquireTimeout  = "unable to acquire instance within the configured timeout"
	CauseConnect         = "connect failed"
	CauseShutdown        = "driver stopped"
)

// Event is one thing the driver did or saw, at a simulated time.
type Event struct {
	At       time.Time
	Kind     EventKind
	Job      int
	Instance string
	State    string
	Cause    string
	Detail   string
	Wait     time.Duration // JobStarted
	Connect  time.Duration // JobConnected
	Count    int           // ScaleUp
}
