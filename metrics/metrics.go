// Package metrics is the plugin's Prometheus metrics: one registry per
// plugin instance (no global state), fed by ec2spot's Observer events and
// by the provider's view of each Update, served over HTTP when
// plugin_config metrics_listen is set. It imports neither fleeting nor
// the simulator.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Namespace prefixes every metric of the plugin.
const Namespace = "fleeting_plugin_ec2spot"

// Metrics holds one plugin instance's collectors and registry. A nil
// *Metrics observes nothing, so callers need no checks.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	instances         *instancesCollector
	interruptions     *prometheus.CounterVec
	rebalances        *prometheus.CounterVec
	noticeToDeleting  prometheus.Histogram
	fallbackPhase     *prometheus.GaugeVec
	fallbackSwitches  *prometheus.CounterVec
	launchFailures    *prometheus.CounterVec
	awsRequests       *prometheus.CounterVec
	limiterWait       *prometheus.HistogramVec
	requestToService  prometheus.Histogram
	capacityRequested prometheus.Counter

	mu      sync.Mutex
	seeded  bool
	pending []time.Time       // Increase times not yet matched to an instance, oldest first
	known   map[string]*track // members seen, by id
}

// track is what the capacity latency needs of one member.
type track struct {
	requestedAt time.Time // zero: not launched for a request (pre-existing, replacement)
	done        bool      // latency observed, or no longer expected
	doomSeen    bool      // notice-to-deleting observed
}

// pendingMaxAge drops requests no instance arrived for (the runner removed
// them while creating, or AWS never launched): matching them to a much
// later instance would report a made-up latency.
const pendingMaxAge = time.Hour

var fallbackPhases = []string{ec2spot.FallbackOff, ec2spot.FallbackSpot, ec2spot.FallbackOnDemand, ec2spot.FallbackProbing}

// New returns the metrics of one plugin instance with its own registry
// (Go runtime and process collectors included). now is the clock; nil =
// time.Now.
func New(now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		now:       now,
		instances: newInstancesCollector(),
		known:     map[string]*track{},
		interruptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "spot_interruption_notices_total",
			Help: "Spot interruption notices received, one per instance, by source (poll: spot request status; queue: EventBridge via SQS).",
		}, []string{"source"}),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "spot_rebalance_recommendations_total",
			Help: "Spot rebalance recommendations received, one per instance, by source (poll or queue).",
		}, []string{"source"}),
		noticeToDeleting: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "spot_interruption_notice_to_deleting_seconds",
			Help:    "Seconds from AWS's interruption notice to the plugin reporting the instance deleting to fleeting (no new job lands on it from then on).",
			Buckets: []float64{0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300},
		}),
		fallbackPhase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "fallback_phase",
			Help: "On-demand fallback phase: 1 for the current phase (off, spot, on_demand, probing), 0 for the others.",
		}, []string{"phase"}),
		fallbackSwitches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "fallback_switches_total",
			Help: "Changes of the group's on-demand percentage by the fallback, by direction (to_on_demand, to_spot).",
		}, []string{"direction"}),
		launchFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "launch_failures_total",
			Help: "Failed launches (scaling activities and synchronous launch errors), by cause class, availability zone and instance type (\"unknown\" when AWS did not say).",
		}, []string{"cause", "availability_zone", "instance_type"}),
		awsRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "aws_requests_total",
			Help: "AWS API requests sent (each retry attempt counts), by service, action and outcome (success, throttled, error).",
		}, []string{"service", "action", "outcome"}),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "aws_rate_limit_wait_seconds",
			Help:    "Seconds a request waited for the client-side rate limit (api_rate_limits) of its service.",
			Buckets: []float64{0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"service"}),
		requestToService: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "capacity_request_to_in_service_seconds",
			Help:    "Seconds from an Increase that requested capacity to the instance that filled it reaching InService.",
			Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800},
		}),
		capacityRequested: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "capacity_requested_instances_total",
			Help: "Instances requested by Increase (what the plugin promised fleeting).",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.instances, m.interruptions, m.rebalances, m.noticeToDeleting, m.fallbackPhase, m.fallbackSwitches,
		m.launchFailures, m.awsRequests, m.limiterWait, m.requestToService, m.capacityRequested,
	)
	return m
}

// Registry is the instance's registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var _ ec2spot.Observer = (*Metrics)(nil)

// SpotSignal implements ec2spot.Observer.
func (m *Metrics) SpotSignal(kind ec2spot.SignalKind, source string) {
	if m == nil {
		return
	}
	switch kind {
	case ec2spot.SignalInterruption:
		m.interruptions.WithLabelValues(source).Inc()
	case ec2spot.SignalRebalance:
		m.rebalances.WithLabelValues(source).Inc()
	}
}

// FallbackPhase implements ec2spot.Observer.
func (m *Metrics) FallbackPhase(phase, switched string) {
	if m == nil {
		return
	}
	for _, p := range fallbackPhases {
		v := 0.0
		if p == phase {
			v = 1
		}
		m.fallbackPhase.WithLabelValues(p).Set(v)
	}
	if switched != "" {
		m.fallbackSwitches.WithLabelValues(switched).Inc()
	}
}

// LaunchFailure implements ec2spot.Observer.
func (m *Metrics) LaunchFailure(class ec2spot.FailureClass, zone, instanceType string) {
	if m == nil {
		return
	}
	m.launchFailures.WithLabelValues(string(class), orUnknown(zone), orUnknown(instanceType)).Inc()
}

// APIRequest implements ec2spot.Observer.
func (m *Metrics) APIRequest(service, action, outcome string) {
	if m == nil {
		return
	}
	m.awsRequests.WithLabelValues(service, action, outcome).Inc()
}

// LimiterWait implements ec2spot.Observer.
func (m *Metrics) LimiterWait(service string, waited time.Duration) {
	if m == nil {
		return
	}
	m.limiterWait.WithLabelValues(service).Observe(waited.Seconds())
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
