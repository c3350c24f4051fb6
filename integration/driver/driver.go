package driver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// Job is one CI job: it holds a slot for Duration of simulated time.
type Job struct {
	ID       int
	Duration time.Duration
	// Attempt counts GitLab's retries of the job (0: the first run).
	Attempt int
}

// Driver runs jobs on a fleeting provisioner's instances. Its state is
// owned by the loop goroutine (Run); other goroutines talk to it through
// channels, and read Stats under mu.
type Driver struct {
	cfg  Config
	prov *fleeting.Provisioner

	submit  chan Job
	results chan result
	ready   chan readyResult

	// loop-owned
	queue     []*job // taken from no one yet (GitLab's queue)
	waiting   []*job // reserved, acquiring, FIFO
	running   map[int]*job
	instances map[string]*instance
	draining  bool

	mu    sync.Mutex
	stats Stats
}

// Stats is a progress snapshot.
type Stats struct {
	// Failed: jobs that failed for good; Retried: failed attempts queued
	// again (Config.Retry).
	Queued, Waiting, Running, Done, Failed, Retried int
	// Instances by provisioner state, plus the driver's ready count.
	Creating, Up, Ready, Deleting int
}

// New initialises the fleeting provisioner on group and returns a driver
// ready to Run.
func New(ctx context.Context, group provider.InstanceGroup, cfg Config) (*Driver, error) {
	cfg.clockDefaults()
	if err := ValidatePeriods(cfg.Policies); err != nil {
		return nil, err
	}
	opts := []fleeting.Option{
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: cfg.Connector}),
		fleeting.WithUpdateInterval(cfg.real(cfg.UpdateInterval)),
		fleeting.WithUpdateIntervalWhenExpecting(cfg.real(cfg.UpdateIntervalWhenExpecting)),
		fleeting.WithDeletionRetryInterval(cfg.real(cfg.DeletionRetryInterval)),
		fleeting.WithShutdownDeletionInterval(cfg.real(10 * time.Second)),
	}
	if cfg.MaxInstances > 0 {
		opts = append(opts, fleeting.WithMaxSize(cfg.MaxInstances))
	}
	prov, err := fleeting.Init(ctx, cfg.Logger, group, opts...)
	if err != nil {
		return nil, fmt.Errorf("fleeting init: %w", err)
	}
	cfg.defaults(prov.Capacity().Max)
	return &Driver{
		cfg:       cfg,
		prov:      prov,
		submit:    make(chan Job, 1024),
		results:   make(chan result, 1024),
		ready:     make(chan readyResult, 64),
		running:   map[int]*job{},
		instances: map[string]*instance{},
	}, nil
}

// Submit queues a job; its wait starts now.
func (d *Driver) Submit(j Job) { d.submit <- j }

// Provisioner is the fleeting provisioner the driver scales.
func (d *Driver) Provisioner() *fleeting.Provisioner { return d.prov }

// Stats returns the latest progress snapshot.
func (d *Driver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Run is the tick loop; it returns when ctx ends, failing the jobs still
// in progress.
func (d *Driver) Run(ctx context.Context) {
	tick := time.NewTicker(d.cfg.real(d.cfg.Tick))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.stop()
			return
		case j := <-d.submit:
			d.enqueue(j)
		case r := <-d.results:
			d.finish(r)
		case r := <-d.ready:
			d.readied(r)
		case <-tick.C:
		}
		d.step(ctx)
	}
}

// step is one reconcile: instances, jobs, scaling.
func (d *Driver) step(ctx context.Context) {
	now := d.cfg.Now()
	policy := activePolicy(d.cfg.Policies, now)
	d.syncInstances(ctx, now)
	d.timeouts(now)
	d.take(policy)
	d.place(ctx, now)
	d.healthChecks(ctx, now)
	d.scale(now, policy)
	d.publish()
}

// Drain removes every idle instance, as the runner does with
// delete_instances_on_shutdown; jobs in progress keep theirs.
func (d *Driver) Drain() {
	d.submit <- Job{ID: drainJob}
}

const drainJob = -1

func (d *Driver) enqueue(j Job) {
	if j.ID == drainJob {
		d.draining = true
		d.cfg.Policies = []Policy{{IdleTime: 0}}
		for _, in := range d.instances {
			in.drain = true
		}
		return
	}
	jb := &job{Job: j, queuedAt: d.cfg.Now()}
	d.queue = append(d.queue, jb)
	e := Event{Kind: JobQueued, Job: j.ID}
	if j.Attempt > 0 {
		e.Detail = fmt.Sprintf("retry %d of %d", j.Attempt, d.cfg.Retry)
	}
	d.emit(e)
}

func (d *Driver) publish() {
	s := Stats{Queued: len(d.queue), Waiting: len(d.waiting), Running: len(d.running)}
	for _, in := range d.instances {
		switch in.state {
		case provider.StateCreating:
			s.Creating++
		case provider.StateRunning:
			s.Up++
			if in.usable(d.cfg) {
				s.Ready++
			}
		default:
			s.Deleting++
		}
	}
	d.mu.Lock()
	s.Done, s.Failed, s.Retried = d.stats.Done, d.stats.Failed, d.stats.Retried
	d.stats = s
	d.mu.Unlock()
}

func (d *Driver) emit(e Event) {
	e.At = d.cfg.Now()
	d.cfg.OnEvent(e)
}

func (d *Driver) count(failed bool) {
	d.mu.Lock()
	if failed {
		d.stats.Failed++
	} else {
		d.stats.Done++
	}
	d.mu.Unlock()
}

func (d *Driver) stop() {
	for _, j := range d.running {
		d.fail(j, CauseShutdown, "")
	}
	for _, j := range append(d.queue, d.waiting...) {
		d.emit(Event{Kind: JobFailed, Job: j.ID, Cause: CauseShutdown})
		d.count(true)
	}
	d.queue, d.waiting = nil, nil
	d.publish()
}

// Shutdown stops the provisioner (its final Decrease round and the
// plugin's Shutdown).
func (d *Driver) Shutdown(ctx context.Context) { d.prov.Shutdown(ctx) }
