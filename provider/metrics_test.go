package provider

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// scrape reads the plugin's /metrics over HTTP, as Prometheus would.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sumBy adds a family's values (counters, gauges; histogram counts) by the
// key built from each series' labels.
func sumBy(fams map[string]*dto.MetricFamily, name string, key func(*dto.Metric) string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		out[key(m)] += v
	}
	return out
}

func total(fams map[string]*dto.MetricFamily, name string) float64 {
	return sumBy(fams, name, func(*dto.Metric) string { return "" })[""]
}

// The metrics a plugin driven against the simulator serves agree with what
// the simulator saw: every AWS request it received, the instances it
// launched, the interruption it gave.
func TestMetricsMatchTheSimulator(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p := initSpotPlugin(t, s, map[string]any{"metrics_listen": "127.0.0.1:0"})
	addr := p.MetricsAddr()
	if addr == "" {
		t.Fatal("no metrics served with metrics_listen set")
	}
	if n, err := p.Increase(testCtx(t), 3); n != 3 || err != nil {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	ids := p.waitRunning(t, 3)
	if err := s.Interrupt(ids[0], "terminate"); err != nil {
		t.Fatal(err)
	}
	if st := p.states(t); st[ids[0]] != provider.StateDeleting {
		t.Fatalf("interrupted instance reported %s, want deleting", st[ids[0]])
	}

	fams := scrape(t, addr)

	// Every request the simulator received is counted under its service
	// and action, and nothing else is.
	got := sumBy(fams, "fleeting_plugin_ec2spot_aws_requests_total", func(m *dto.Metric) string {
		return label(m, "service") + ":" + label(m, "action")
	})
	want := map[string]float64{}
	for k, n := range s.Calls() {
		want[k] = float64(n)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("aws_requests_total by service:action\n got %v\nwant %v (the simulator's call counters)", got, want)
	}

	// Instances: what the simulator's group holds, by zone and type.
	g, _ := s.Group("runners")
	wantInst := map[string]float64{}
	for _, inst := range s.Instances() {
		if inst.Group == g.Name && inst.Lifecycle != "Terminated" {
			wantInst[inst.AZ+"/"+inst.InstanceType]++
		}
	}
	gotInst := sumBy(fams, "fleeting_plugin_ec2spot_instances", func(m *dto.Metric) string {
		return label(m, "availability_zone") + "/" + label(m, "instance_type")
	})
	if fmt.Sprint(gotInst) != fmt.Sprint(wantInst) {
		t.Errorf("instances by zone/type\n got %v\nwant %v (the simulator's group)", gotInst, wantInst)
	}
	byState := sumBy(fams, "fleeting_plugin_ec2spot_instances", func(m *dto.Metric) string { return label(m, "state") })
	if byState["running"] != 2 || byState["deleting"] != 1 {
		t.Errorf("instances by state %v, want 2 running and the interrupted one deleting", byState)
	}
	for _, m := range fams["fleeting_plugin_ec2spot_instances"].GetMetric() {
		if mk := label(m, "market"); mk != "spot" && mk != "unknown" {
			t.Errorf("market %q of an all-spot group", mk)
		}
	}

	for name, want := range map[string]float64{
		"fleeting_plugin_ec2spot_capacity_requested_instances_total":           3,
		"fleeting_plugin_ec2spot_capacity_request_to_in_service_seconds":       3,
		"fleeting_plugin_ec2spot_spot_interruption_notice_to_deleting_seconds": 1,
	} {
		if got := total(fams, name); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	if got := sumBy(fams, "fleeting_plugin_ec2spot_spot_interruption_notices_total", func(m *dto.Metric) string { return label(m, "source") }); got["poll"] != 1 || len(got) != 1 {
		t.Errorf("interruption notices by source %v, want one from the poll", got)
	}
	if got := sumBy(fams, "fleeting_plugin_ec2spot_fallback_phase", func(m *dto.Metric) string { return label(m, "phase") }); got["off"] != 1 || got["spot"] != 0 {
		t.Errorf("fallback phase %v, want off (no on_demand_fallback)", got)
	}

	// Shutdown stops the listener.
	if err := p.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("metrics still served after Shutdown")
	}
}

// A launch failure is counted by cause class and the pool AWS named.
func TestMetricsCountLaunchFailures(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p := initSpotPlugin(t, s, map[string]any{"metrics_listen": "127.0.0.1:0", "launch_mode": "synchronous"})
	for _, typ := range []string{"t3.micro", "t3a.micro", "m5.large"} {
		s.SetPoolCapacity(typ, "", awssim.Spot, 0)
	}
	if _, err := p.Increase(testCtx(t), 1); err == nil {
		t.Fatal("Increase succeeded without spot capacity")
	}
	fams := scrape(t, p.MetricsAddr())
	got := sumBy(fams, "fleeting_plugin_ec2spot_launch_failures_total", func(m *dto.Metric) string {
		return label(m, "cause") + "/" + label(m, "instance_type")
	})
	if got[string(ec2spot.FailureSpotCapacity)+"/t3.micro"] == 0 {
		t.Errorf("launch failures %v, want spot_capacity failures of t3.micro", got)
	}
	for _, m := range fams["fleeting_plugin_ec2spot_launch_failures_total"].GetMetric() {
		if label(m, "availability_zone") == "unknown" {
			t.Errorf("a synchronous launch failure without its zone: %v", m)
		}
	}
}

func TestMetricsListenTakenFailsInit(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners"}); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, map[string]any{"name": "runners", "metrics_listen": ln.Addr().String()})
	_, err = p.Init(testCtx(t), p.logger(), provider.Settings{})
	if err == nil || !strings.Contains(err.Error(), `metrics_listen "`+ln.Addr().String()+`"`) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Init with a taken address: %v, want an error naming metrics_listen and the address", err)
	}
}

func TestMetricsOffServesNothing(t *testing.T) {
	t.Parallel()
	s := fastSim(t, awssim.Options{})
	p, _ := initPlugin(t, s, awssim.GroupSpec{}, provider.Settings{})
	defer func() {
		if err := p.Shutdown(testCtx(t)); err != nil {
			t.Error(err)
		}
	}()
	if p.MetricsAddr() != "" || p.metrics != nil {
		t.Errorf("metrics served at %q without metrics_listen", p.MetricsAddr())
	}
	// Update and Increase work without metrics (nil hooks).
	if _, err := p.Increase(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	p.waitRunning(t, 1)
}

func TestMetricsListenValidation(t *testing.T) {
	for _, bad := range []string{"9252", "localhost", "127.0.0.1:99999", "127.0.0.1:http-alt"} {
		c := Config{Name: "g", MetricsListen: bad}
		if errs := c.validateMetrics(); len(errs) != 1 || !strings.Contains(errs[0].Error(), `"metrics_listen"`) {
			t.Errorf("metrics_listen %q: %v, want one error naming the key", bad, errs)
		}
	}
	for _, good := range []string{"127.0.0.1:9252", ":9252", "[::1]:9252", "0.0.0.0:0"} {
		c := Config{Name: "g", MetricsListen: good}
		if errs := c.validateMetrics(); len(errs) != 0 {
			t.Errorf("metrics_listen %q: %v", good, errs)
		}
	}
}
