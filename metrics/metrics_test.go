package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// exercise drives every metric once, so each family has a series.
func exercise(m *Metrics, c *fakeClock) {
	m.SpotSignal(ec2spot.SignalInterruption, "poll")
	m.SpotSignal(ec2spot.SignalRebalance, "queue")
	m.FallbackPhase(ec2spot.FallbackOnDemand, "to_on_demand")
	m.LaunchFailure(ec2spot.FailureSpotCapacity, "", "m5.large")
	m.APIRequest("autoscaling", "SetDesiredCapacity", "success")
	m.LimiterWait("ec2", 3*time.Millisecond)
	m.Update(nil)
	m.Requested(1)
	c.t = c.t.Add(40 * time.Second)
	m.Update([]Instance{{ID: "i-1", State: "running", InService: true, InterruptedAt: c.t.Add(-2 * time.Second)}})
	m.Update([]Instance{{ID: "i-1", State: "deleting", InService: true, InterruptedAt: c.t.Add(-2 * time.Second)}})
}

func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// Every metric the shipped Grafana dashboard queries exists, under that
// name, in a plugin's registry; and every plugin metric is on the dashboard.
func TestGrafanaDashboardUsesTheRegistrysNames(t *testing.T) {
	data, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var dash any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("dashboard has %d queries", len(exprs))
	}

	c := &fakeClock{t: time.Unix(1e9, 0)}
	m := New(c.now)
	exercise(m, c)
	fams := gather(t, m)
	used := map[string]bool{}
	name := regexp.MustCompile(Namespace + `_[a-z_]+`)
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			base := n
			if f := fams[n]; f == nil {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && fams[b].GetType() == dto.MetricType_HISTOGRAM {
						base = b
					}
				}
			}
			if fams[base] == nil {
				t.Errorf("dashboard query uses %s, which the registry does not have: %s", n, e)
			}
			used[base] = true
		}
	}
	for n := range fams {
		if strings.HasPrefix(n, Namespace+"_") && !used[n] {
			t.Errorf("metric %s is on no dashboard panel", n)
		}
	}
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		match := true
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			match = match && found
		}
		if match {
			return m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// The request-to-InService latency matches instances to Increases oldest
// first, ignores members that were there before and replacements nobody
// asked for, and drops requests whose instance was removed before it
// served.
func TestCapacityLatencyMatching(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	m := New(c.now)
	m.Update([]Instance{{ID: "old", State: "running", InService: true}})
	m.Requested(2)
	c.t = c.t.Add(10 * time.Second)
	m.Update([]Instance{{ID: "old", State: "running", InService: true}, {ID: "a", State: "creating"}, {ID: "b", State: "creating"}})
	c.t = c.t.Add(20 * time.Second)
	// a serves after 30 s; b is removed while creating.
	m.Update([]Instance{{ID: "old", State: "running", InService: true}, {ID: "a", State: "running", InService: true}, {ID: "b", State: "deleting"}})
	// A replacement no Increase asked for.
	m.Update([]Instance{{ID: "old", State: "running", InService: true}, {ID: "a", State: "running", InService: true}, {ID: "r", State: "running", InService: true}})
	fams := gather(t, m)
	h := fams[Namespace+"_capacity_request_to_in_service_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 30 {
		t.Errorf("latency observations: %d summing %gs, want one of 30s", h.GetSampleCount(), h.GetSampleSum())
	}
	if got := value(t, fams, Namespace+"_instances", map[string]string{"state": "running", "market": "unknown"}); got != 3 {
		t.Errorf("running instances %g, want 3 (the latest Update only)", got)
	}
	if got := value(t, fams, Namespace+"_instances", map[string]string{"state": "creating"}); got != 0 {
		t.Errorf("creating instances %g after they left, want 0", got)
	}
}

func TestNoticeToDeletingObservedOnce(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	m := New(c.now)
	notice := c.t
	c.t = c.t.Add(3 * time.Second)
	for range 3 {
		m.Update([]Instance{{ID: "a", State: "deleting", InService: true, InterruptedAt: notice}})
	}
	h := gather(t, m)[Namespace+"_spot_interruption_notice_to_deleting_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 3 {
		t.Errorf("%d observations summing %g, want one of 3s", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestFallbackPhaseIsOneOfSet(t *testing.T) {
	m := New(nil)
	m.FallbackPhase(ec2spot.FallbackSpot, "")
	m.FallbackPhase(ec2spot.FallbackOnDemand, "to_on_demand")
	m.FallbackPhase(ec2spot.FallbackProbing, "to_spot")
	fams := gather(t, m)
	for phase, want := range map[string]float64{"off": 0, "spot": 0, "on_demand": 0, "probing": 1} {
		if got := value(t, fams, Namespace+"_fallback_phase", map[string]string{"phase": phase}); got != want {
			t.Errorf("phase %s = %g, want %g", phase, got, want)
		}
	}
	for dir, want := range map[string]float64{"to_on_demand": 1, "to_spot": 1} {
		if got := value(t, fams, Namespace+"_fallback_switches_total", map[string]string{"direction": dir}); got != want {
			t.Errorf("switches %s = %g, want %g", dir, got, want)
		}
	}
}

// Two plugin instances in one process keep separate counts.
func TestRegistryPerInstance(t *testing.T) {
	a, b := New(nil), New(nil)
	a.APIRequest("ec2", "DescribeInstances", "success")
	if got := value(t, gather(t, b), Namespace+"_aws_requests_total", nil); got != 0 {
		t.Errorf("b counted a's request: %g", got)
	}
	var nilMetrics *Metrics
	nilMetrics.Update([]Instance{{ID: "x"}}) // off: no panic
	nilMetrics.Requested(3)
}
