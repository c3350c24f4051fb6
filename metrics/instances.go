package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instance is one group member as an Update reported it.
type Instance struct {
	ID string
	// State is the fleeting state reported ("creating", "running",
	// "deleting"), or NotReported.
	State            string
	Market           string // spot, on-demand, unknown
	AvailabilityZone string
	InstanceType     string
	// InService: the Auto Scaling lifecycle state is InService.
	InService bool
	// InterruptedAt is the interruption notice's time; zero without one.
	InterruptedAt time.Time
}

// NotReported is the state label of members the plugin leaves out of its
// report (standby, detaching, warm pool): they still bill.
const NotReported = "not_reported"

type instanceKey struct{ state, market, zone, instanceType string }

// instancesCollector serves the member counts of the latest Update as one
// consistent set: a scrape never sees a half-updated snapshot.
type instancesCollector struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	counts map[instanceKey]int
}

func newInstancesCollector() *instancesCollector {
	return &instancesCollector{
		desc: prometheus.NewDesc(Namespace+"_instances",
			"Members of the group at the latest Update, by the state reported to fleeting (not_reported: standby, detaching, warm pool), market, availability zone and instance type.",
			[]string{"state", "market", "availability_zone", "instance_type"}, nil),
		counts: map[instanceKey]int{},
	}
}

func (c *instancesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *instancesCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	keys := make([]instanceKey, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	counts := make([]int, len(keys))
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	for n, k := range keys {
		counts[n] = c.counts[k]
	}
	c.mu.Unlock()
	for n, k := range keys {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[n]), k.state, k.market, k.zone, k.instanceType)
	}
}

func less(a, b instanceKey) bool {
	if a.state != b.state {
		return a.state < b.state
	}
	if a.market != b.market {
		return a.market < b.market
	}
	if a.zone != b.zone {
		return a.zone < b.zone
	}
	return a.instanceType < b.instanceType
}

func (c *instancesCollector) set(counts map[instanceKey]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = counts
}
