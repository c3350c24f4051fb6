package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// instance is the driver's view of one provisioner instance.
type instance struct {
	fi    fleeting.Instance
	id    string
	state provider.State
	seen  time.Time // first seen (simulated)

	preparing bool // instance_ready_command running
	ready     bool
	unhealthy bool
	removing  bool // the driver called Delete
	drain     bool

	jobs     map[int]*job
	uses     int
	idleFrom time.Time // last job end, or when it became ready
	checked  time.Time // last heartbeat
	failures int       // heartbeat failures in a row
}

// usable: may take new jobs.
func (in *instance) usable(cfg Config) bool {
	return in.state == provider.StateRunning && in.ready && !in.unhealthy && !in.removing &&
		!in.drain && (cfg.MaxUseCount <= 0 || in.uses < cfg.MaxUseCount)
}

// freeSlots on a usable instance.
func (in *instance) freeSlots(cfg Config) int {
	if !in.usable(cfg) {
		return 0
	}
	free := cfg.CapacityPerInstance - len(in.jobs)
	if cfg.MaxUseCount > 0 {
		free = min(free, cfg.MaxUseCount-in.uses)
	}
	return max(free, 0)
}

type readyResult struct {
	id  string
	err error
}

// syncInstances reads the provisioner's instances (polled each tick rather
// than subscribed: a subscriber must never block the provisioner) and fails
// the jobs of instances that went away under them.
func (d *Driver) syncInstances(ctx context.Context, now time.Time) {
	seen := map[string]bool{}
	for _, fi := range d.prov.Instances() {
		id, state := fi.ID(), fi.State()
		seen[id] = true
		in, ok := d.instances[id]
		if !ok {
			in = &instance{fi: fi, id: id, seen: now, jobs: map[int]*job{}, drain: d.draining}
			d.instances[id] = in
			d.emit(Event{Kind: InstanceState, Instance: id, State: string(state), Detail: string(fi.Cause())})
			// Without stored state the runner removes what it finds at start.
			if fi.Cause() == fleeting.CausePreexisted {
				d.remove(in, "preexisted")
			}
		} else if in.state != state {
			d.emit(Event{Kind: InstanceState, Instance: id, State: string(state)})
		}
		in.state = state
		switch state {
		case provider.StateRunning:
			if !in.ready && !in.preparing && !in.removing {
				d.prepare(ctx, in, now)
			}
		case provider.StateDeleted, provider.StateTimeout:
			d.gone(in)
		case provider.StateDeleting:
			// A spot instance under notice is reported deleting while it
			// still runs; its jobs die with the VM, when it leaves.
			if d.cfg.FailOnDeleting {
				d.gone(in)
			}
		}
	}
	for id, in := range d.instances {
		if !seen[id] {
			in.state = provider.StateDeleted
			d.emit(Event{Kind: InstanceState, Instance: id, State: string(provider.StateDeleted), Detail: "dropped by the provisioner"})
			d.gone(in)
			delete(d.instances, id)
		}
	}
}

// gone fails the jobs of an instance that is leaving without the driver
// having asked (the driver removes only idle instances).
func (d *Driver) gone(in *instance) {
	for _, j := range in.jobs {
		d.fail(j, CauseInstanceRemoved, in.id+" "+string(in.state))
	}
}

// prepare runs instance_ready_command (the runner's up-function).
func (d *Driver) prepare(ctx context.Context, in *instance, now time.Time) {
	if d.cfg.InstanceReadyCommand == "" {
		d.markReady(in, now)
		return
	}
	in.preparing = true
	go func() {
		err := d.runCommand(ctx, in.fi, d.cfg.InstanceReadyCommand)
		select {
		case d.ready <- readyResult{id: in.id, err: err}:
		case <-ctx.Done():
		}
	}()
}

func (d *Driver) readied(r readyResult) {
	in, ok := d.instances[r.id]
	if !ok {
		return
	}
	in.preparing = false
	if r.err != nil {
		d.emit(Event{Kind: InstanceState, Instance: in.id, State: "ready_failed", Detail: r.err.Error()})
		d.remove(in, "instance_ready_command failed")
		return
	}
	d.markReady(in, d.cfg.Now())
}

func (d *Driver) markReady(in *instance, now time.Time) {
	in.ready, in.idleFrom, in.checked = true, now, now
	d.emit(Event{Kind: InstanceState, Instance: in.id, State: "ready"})
}

func (d *Driver) remove(in *instance, why string) {
	if in.removing {
		return
	}
	in.removing = true
	in.fi.Delete()
	d.emit(Event{Kind: InstanceState, Instance: in.id, State: "removing", Detail: why})
}

// healthy asks the plugin. ErrInstanceUnhealthy (which gRPC flattens to
// its text) makes the instance take no more jobs at once; other errors do
// after FailureThreshold in a row.
func (d *Driver) healthy(ctx context.Context, in *instance, now time.Time) bool {
	in.checked = now
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := in.fi.Heartbeat(hctx)
	switch {
	case err == nil:
		in.failures = 0
		return true
	case errors.Is(err, provider.ErrInstanceUnhealthy) || strings.Contains(err.Error(), provider.ErrInstanceUnhealthy.Error()):
		in.failures = d.cfg.FailureThreshold
	default:
		in.failures++
	}
	if in.failures < d.cfg.FailureThreshold {
		return false // not this time; maybe next
	}
	in.unhealthy = true
	d.emit(Event{Kind: InstanceState, Instance: in.id, State: "unhealthy", Detail: err.Error()})
	return false
}

// healthChecks heartbeats idle ready instances now and then, so an
// unhealthy idle instance is replaced before a job lands on it.
func (d *Driver) healthChecks(ctx context.Context, now time.Time) {
	for _, in := range d.sorted() {
		if in.usable(d.cfg) && len(in.jobs) == 0 && now.Sub(in.checked) >= d.cfg.HeartbeatInterval {
			d.healthy(ctx, in, now)
		}
	}
}

// sorted lists instances oldest first (scale-down order, placement order).
func (d *Driver) sorted() []*instance {
	list := make([]*instance, 0, len(d.instances))
	for _, in := range d.instances {
		list = append(list, in)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].seen.Equal(list[j].seen) {
			return list[i].seen.Before(list[j].seen)
		}
		return list[i].id < list[j].id
	})
	return list
}

// runCommand connects with the instance's ConnectInfo, as the runner does.
func (d *Driver) runCommand(ctx context.Context, fi fleeting.Instance, command string) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.real(d.cfg.ConnectTimeout))
	defer cancel()
	info, err := fi.ConnectInfo(ctx)
	if err != nil {
		return fmt.Errorf("connect info: %w", err)
	}
	var stderr bytes.Buffer
	err = connector.Run(ctx, info, connector.ConnectorOptions{RunOptions: connector.RunOptions{
		Command: command, Stdout: &bytes.Buffer{}, Stderr: &stderr,
	}})
	if err != nil {
		return fmt.Errorf("%w %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
