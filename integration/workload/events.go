package workload

import (
	"sort"
	"sync"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// Event is a recorded fact of a run; the summary and the report are
// computed from events only. T is simulated time since the start.
type Event struct {
	T        time.Duration
	Kind     string // a driver.EventKind, or Notice, Sample, Phase
	Job      int
	Instance string
	Market   string // of Instance, from AWS
	Type     string // instance type
	AZ       string
	State    string
	Cause    string
	Detail   string
	Wait     time.Duration
	Connect  time.Duration
	Count    int
	Sample   *Sample
	// Billed (Kind Billed): how long AWS billed Instance, counted in
	// samples as the cost is; T is the first sample that billed it.
	Billed time.Duration `json:",omitempty"`
}

// Kinds recorded by the workload itself.
const (
	Notice  = "interruption_notice" // a spot interruption notice to Instance
	Sampled = "sample"
	Phase   = "phase" // scenario milestones (outage begins, …): Detail
	// Billed closes a run with one event per instance AWS billed.
	Billed = "billed"
)

// Sample is the account as AWS bills it, every Interval.
type Sample struct {
	Interval time.Duration
	// Instances by "market/state": state is creating (pending), running,
	// noticed (running under an interruption notice) or terminating.
	Instances map[string]int
	// Billing counts billing instances by "type/market".
	Billing map[string]int
	// Queued is jobs not yet on an instance (queue + acquiring); Running
	// is jobs on instances.
	Queued, Running int

	billedIDs []string // the billing instances (for the Billed events)
}

// recorder keeps events in order and fills in the market and type of
// instances from the simulator.
type recorder struct {
	sim   *awssim.Sim
	start time.Time

	// readyChecks: record jobs handed unready instances (readiness.go).
	readyChecks bool

	mu     sync.Mutex
	events []Event
	kinds  map[string][3]string // instance → market, type, AZ
	billed map[string]*Event    // instance → its Billed event so far
}

func newRecorder(sim *awssim.Sim) *recorder {
	return &recorder{sim: sim, start: sim.Now(), kinds: map[string][3]string{}, billed: map[string]*Event{}}
}

// begin sets the time events are measured from.
func (r *recorder) begin(start time.Time) {
	r.mu.Lock()
	r.start = start
	r.mu.Unlock()
}

func (r *recorder) add(e Event) {
	if e.Instance != "" && e.Market == "" {
		e.Market, e.Type, e.AZ = r.kind(e.Instance)
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) kind(id string) (string, string, string) {
	r.mu.Lock()
	k, ok := r.kinds[id]
	r.mu.Unlock()
	if ok {
		return k[0], k[1], k[2]
	}
	inst, found := r.sim.Instance(id)
	if !found {
		return "", "", ""
	}
	k = [3]string{string(inst.Market), inst.InstanceType, inst.AZ}
	r.mu.Lock()
	r.kinds[id] = k
	r.mu.Unlock()
	return k[0], k[1], k[2]
}

func (r *recorder) since(t time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return t.Sub(r.start)
}

func (r *recorder) driverEvent(e driver.Event) {
	r.add(Event{
		T: r.since(e.At), Kind: string(e.Kind), Job: e.Job, Instance: e.Instance, State: e.State,
		Cause: e.Cause, Detail: e.Detail, Wait: e.Wait, Connect: e.Connect, Count: e.Count,
	})
	r.checkReady(e)
}

// bill charges the instances a sample billed for its interval.
func (r *recorder) bill(t time.Duration, s *Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range s.billedIDs {
		e := r.billed[id]
		if e == nil {
			e = &Event{T: t, Kind: Billed, Instance: id}
			r.billed[id] = e
		}
		e.Billed += s.Interval
	}
}

// all is the events, then one Billed event per instance (by first billing).
func (r *recorder) all() []Event {
	r.mu.Lock()
	out := append([]Event(nil), r.events...)
	billed := make([]Event, 0, len(r.billed))
	for _, e := range r.billed {
		billed = append(billed, *e)
	}
	r.mu.Unlock()
	sort.Slice(billed, func(i, j int) bool {
		if billed[i].T != billed[j].T {
			return billed[i].T < billed[j].T
		}
		return billed[i].Instance < billed[j].Instance
	})
	for _, e := range billed {
		e.Market, e.Type, e.AZ = r.kind(e.Instance)
		out = append(out, e)
	}
	return out
}

// sample reads the account as it bills.
func sample(sim *awssim.Sim, every time.Duration, st driver.Stats) *Sample {
	s := &Sample{Interval: every, Instances: map[string]int{}, Billing: map[string]int{},
		Queued: st.Queued + st.Waiting, Running: st.Running}
	for _, inst := range sim.Instances() {
		var state string
		switch inst.State {
		case "pending":
			state = "creating"
		case "running":
			state = "running"
			if inst.InterruptionAction != "" {
				state = "noticed"
			}
		case "shutting-down", "stopping":
			state = "terminating"
		default:
			continue // terminated, stopped: not billed (EBS aside)
		}
		s.Instances[string(inst.Market)+"/"+state]++
		s.billedIDs = append(s.billedIDs, inst.ID)
		s.Billing[inst.InstanceType+"/"+string(inst.Market)]++
	}
	return s
}
