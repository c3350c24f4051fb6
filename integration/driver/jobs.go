package driver

import (
	"context"
	"time"
)

type job struct {
	Job
	queuedAt   time.Time
	deadline   time.Time // acquire timeout
	acquiredAt time.Time
	inst       *instance
	cancel     context.CancelFunc
}

type result struct {
	id      int
	attempt int // a late report of an earlier attempt is not the retry's
	err     error
	took    time.Duration // acquire → connected, simulated
	done    bool          // false: connected, still running
}

// take moves jobs from the queue to acquiring while reservations succeed
// and the runner has workers free.
func (d *Driver) take(p Policy) {
	for len(d.queue) > 0 && len(d.waiting)+len(d.running) < d.cfg.Concurrent && d.reserve(p) {
		j := d.queue[0]
		d.queue = d.queue[1:]
		j.deadline = d.cfg.Now().Add(d.cfg.AcquireTimeout)
		d.waiting = append(d.waiting, j)
	}
}

// reserve is taskscaler's Reserve for one more job.
func (d *Driver) reserve(p Policy) bool {
	free, provisioned := 0, 0
	for _, in := range d.instances {
		free += in.freeSlots(d.cfg)
		if !in.removing && !in.unhealthy {
			provisioned += d.cfg.CapacityPerInstance
		}
	}
	if p.Preemptive() {
		// only confirmed idle slots on ready instances
		if free-len(d.waiting) <= 0 {
			return false
		}
	} else if len(d.running)+len(d.waiting) >= d.cfg.MaxInstances*d.cfg.CapacityPerInstance {
		return false
	}
	if d.cfg.ReservationThrottling {
		avail := provisioned + d.prov.Capacity().Requested*d.cfg.CapacityPerInstance - len(d.running)
		if len(d.waiting) >= max(1, avail-d.cfg.CapacityPerInstance) {
			return false
		}
	}
	return true
}

// place acquires slots FIFO: the oldest ready, healthy instance with a
// free slot [I: taskscaler's slot choice is not documented].
func (d *Driver) place(ctx context.Context, now time.Time) {
	instances := d.sorted()
	for len(d.waiting) > 0 {
		var target *instance
		for _, in := range instances {
			if in.freeSlots(d.cfg) > 0 && d.healthy(ctx, in, now) {
				target = in
				break
			}
		}
		if target == nil {
			return
		}
		j := d.waiting[0]
		d.waiting = d.waiting[1:]
		d.start(ctx, j, target, now)
	}
}

func (d *Driver) start(ctx context.Context, j *job, in *instance, now time.Time) {
	j.inst, j.acquiredAt = in, now
	in.jobs[j.ID] = j
	in.uses++
	d.running[j.ID] = j
	d.emit(Event{Kind: JobStarted, Job: j.ID, Instance: in.id, Wait: now.Sub(j.queuedAt)})

	jctx, cancel := context.WithCancel(ctx)
	j.cancel = cancel
	end := now.Add(j.Duration)
	go func() {
		report := func(r result) {
			select {
			case d.results <- r:
			case <-jctx.Done():
			}
		}
		if d.cfg.ConnectCommand != "-" {
			err := d.runCommand(jctx, in.fi, d.cfg.ConnectCommand)
			connected := d.cfg.Now()
			report(result{id: j.ID, attempt: j.Attempt, err: err, took: connected.Sub(now), done: err != nil})
			if err != nil {
				return
			}
			// The job's work starts once connected.
			end = connected.Add(j.Duration)
		}
		// The job "runs" until its simulated end.
		for {
			left := end.Sub(d.cfg.Now())
			if left <= 0 {
				break
			}
			select {
			case <-jctx.Done():
				return
			case <-time.After(d.cfg.real(left)):
			}
		}
		report(result{id: j.ID, attempt: j.Attempt, done: true})
	}()
}

// finish handles a job goroutine's report.
func (d *Driver) finish(r result) {
	j, ok := d.running[r.id]
	if !ok || j.Attempt != r.attempt {
		return // already failed (its instance went away)
	}
	if !r.done {
		d.emit(Event{Kind: JobConnected, Job: j.ID, Instance: j.inst.id, Connect: r.took})
		return
	}
	if r.err != nil {
		d.fail(j, CauseConnect, r.err.Error())
		return
	}
	d.release(j)
	d.emit(Event{Kind: JobDone, Job: j.ID, Instance: j.inst.id})
	d.count(false)
}

// release frees the slot and stamps the instance's idle time; an instance
// that has used up max_use_count is removed once idle.
func (d *Driver) release(j *job) {
	j.cancel()
	delete(d.running, j.ID)
	in := j.inst
	delete(in.jobs, j.ID)
	if len(in.jobs) == 0 {
		in.idleFrom = d.cfg.Now()
		if d.cfg.MaxUseCount > 0 && in.uses >= d.cfg.MaxUseCount {
			d.remove(in, "max_use_count reached")
		}
	}
}

func (d *Driver) fail(j *job, cause, detail string) {
	d.release(j)
	d.emit(Event{Kind: JobFailed, Job: j.ID, Instance: j.inst.id, Cause: cause, Detail: detail})
	d.failed(j.Job, cause)
}

// failed counts a failed attempt and, as GitLab's `retry: {max: Retry,
// when: runner_system_failure}` does, queues the job again when it failed
// for a system reason (anything but the driver stopping) and has retries
// left [D]. The retry is a new GitLab job: its wait starts now.
func (d *Driver) failed(j Job, cause string) {
	if cause == CauseShutdown || j.Attempt >= d.cfg.Retry {
		d.count(true)
		return
	}
	d.mu.Lock()
	d.stats.Retried++
	d.mu.Unlock()
	j.Attempt++
	d.enqueue(j)
}

// timeouts fails jobs that waited longer than the acquire timeout.
func (d *Driver) timeouts(now time.Time) {
	kept := d.waiting[:0]
	for _, j := range d.waiting {
		if now.After(j.deadline) {
			d.emit(Event{Kind: JobFailed, Job: j.ID, Cause: CauseAcquireTimeout})
			d.failed(j.Job, CauseAcquireTimeout)
			continue
		}
		kept = append(kept, j)
	}
	d.waiting = kept
}
