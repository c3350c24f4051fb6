package faults_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// What every scenario must end with.

// stateFor is what the provisioner should show for a member's lifecycle.
func stateFor(lifecycle string) provider.State {
	switch {
	case lifecycle == "InService":
		return provider.StateRunning
	case strings.HasPrefix(lifecycle, "Pending"):
		return provider.StateCreating
	case strings.HasPrefix(lifecycle, "Terminat"):
		return provider.StateDeleting
	default:
		return ""
	}
}

// converged: the group is settled at the desired capacity the scenario
// implies (no double decrement, no extra increment), every member is
// known to the provisioner in the matching state (no orphan), and the
// provisioner knows nothing else.
func (e *env) converged() error {
	g, ok := e.sim.Group(groupName)
	if !ok {
		return errors.New("group is gone")
	}
	if g.Desired != e.desired {
		return fmt.Errorf("desired capacity %d, want %d", g.Desired, e.desired)
	}
	members := e.members()
	inService := 0
	for _, m := range members {
		if m.Lifecycle == "InService" {
			inService++
		}
	}
	if inService != e.desired || len(members) != e.desired {
		return fmt.Errorf("%d members, %d in service, want %d settled", len(members), inService, e.desired)
	}
	known := map[string]provider.State{}
	for _, i := range e.run.prov.Instances() {
		known[i.ID()] = i.State()
	}
	var diffs []string
	for id, m := range members {
		if st, ok := known[id]; !ok {
			diffs = append(diffs, id+" ("+m.Lifecycle+") unknown to the provisioner")
		} else if st != stateFor(m.Lifecycle) {
			diffs = append(diffs, fmt.Sprintf("%s is %s in AWS, %s in the provisioner", id, m.Lifecycle, st))
		}
	}
	for id, st := range known {
		if _, ok := members[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s (%s) tracked but not in the group", id, st))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// untouched: instances outside the group live on, the bystander group
// keeps its capacity.
func (e *env) untouched() error {
	for _, id := range e.foreign {
		i, ok := e.sim.Instance(id)
		if !ok || (i.State != "running" && i.State != "pending") {
			return fmt.Errorf("instance %s outside the group was touched: %+v", id, i.State)
		}
	}
	if g, ok := e.sim.Group(bystanderName); !ok || g.Desired != 1 {
		return fmt.Errorf("bystander group changed: %+v", g.Desired)
	}
	return nil
}

// alive: the plugin process still answers.
func (e *env) alive() error {
	done := make(chan error, 1)
	go func() {
		done <- e.run.runner.InstanceGroup().Update(ctx(e.t), func(string, provider.State) {})
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		return errors.New("plugin did not answer Update within 15s")
	}
}

// finish asserts the invariants and the secret scan, and adds the
// scenario's figures to the suite's.
func (e *env) finish(s *suiteStats) {
	e.t.Helper()
	e.sim.ClearFaults()
	loss := 0
	e.eventually("the provisioner converges to the group", func() error {
		if err := e.converged(); err != nil {
			return err
		}
		return e.untouched()
	})
	if err := e.alive(); err != nil {
		loss++
		e.t.Errorf("plugin not alive after the scenario: %v", err)
	}
	if found := scanSecrets(e.logs.String(), append(e.secrets, secretKey, sessionToken, operatorSecret)...); len(found) > 0 {
		e.t.Errorf("secrets in the logs: %v", found)
	}
	e.seenMu.Lock()
	for _, i := range e.sim.Instances() {
		if i.Group == groupName {
			e.seen[i.ID] = true
		}
	}
	n := len(e.seen)
	e.seenMu.Unlock()
	s.add(n, e.injected, loss)
}
