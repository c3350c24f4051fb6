package workload

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Life is one instance's story in a run, from its events.
type Life struct {
	ID, Market, Type, AZ string
	States               []StateAt
	Jobs, Failed         int
	Noticed              bool
}

// StateAt is a state and when it was first seen (simulated).
type StateAt struct {
	State string
	T     time.Duration
}

// History formats the states as "creating@0:05 → running@1:00".
func (l Life) History() string {
	parts := make([]string, 0, len(l.States))
	for _, s := range l.States {
		parts = append(parts, fmt.Sprintf("%s@%s", s.State, clock(s.T)))
	}
	return strings.Join(parts, " → ")
}

// Lives lists the instances of a run by first appearance.
func Lives(events []Event) []Life {
	byID := map[string]*Life{}
	var order []string
	get := func(e Event) *Life {
		l, ok := byID[e.Instance]
		if !ok {
			l = &Life{ID: e.Instance}
			byID[e.Instance] = l
			order = append(order, e.Instance)
		}
		if l.Market == "" {
			l.Market, l.Type, l.AZ = e.Market, e.Type, e.AZ
		}
		return l
	}
	for _, e := range events {
		if e.Instance == "" {
			continue
		}
		switch e.Kind {
		case string(driver.InstanceState):
			l := get(e)
			if n := len(l.States); n == 0 || l.States[n-1].State != e.State {
				l.States = append(l.States, StateAt{e.State, e.T})
			}
		case string(driver.JobStarted):
			get(e).Jobs++
		case string(driver.JobFailed):
			get(e).Failed++
		case Notice:
			l := get(e)
			l.Noticed = true
			l.States = append(l.States, StateAt{"notice", e.T})
		}
	}
	lives := make([]Life, 0, len(order))
	for _, id := range order {
		lives = append(lives, *byID[id])
	}
	sort.SliceStable(lives, func(i, j int) bool { return first(lives[i]) < first(lives[j]) })
	return lives
}

func first(l Life) time.Duration {
	if len(l.States) == 0 {
		return 0
	}
	return l.States[0].T
}
