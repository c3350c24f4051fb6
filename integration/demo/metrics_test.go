package demo_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gitlab.com/gitlab-org/fleeting/fleeting/integration"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/demo"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// The demo's plugin serves its metrics while the demo runs; what a scrape
// shows never exceeds what the simulator counted by the end of the run.
func TestDemoServesMetrics(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	bin := integration.BuildPluginBinary(t, "../../cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot")
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		last string
		wg   sync.WaitGroup
	)
	scrape, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { // scrape as Prometheus would, until the run ends
		defer wg.Done()
		for ctx.Err() == nil {
			if resp, err := http.DefaultClient.Do(scrape.Clone(ctx)); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					last = string(b)
					mu.Unlock()
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var out strings.Builder
	sum, err := demo.Run(context.Background(), demo.Config{
		Plugin: bin, OutDir: t.TempDir(), Modes: []workload.Mode{workload.Ours}, Metrics: addr,
		Tweak: func(sc *workload.Scenario) {
			sc.Speed = 60
			sc.Workload = workload.Steady{PerMinute: 2, MeanDuration: 2 * time.Minute, Window: 4 * time.Minute}
		},
	}, &out)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "metrics: http://"+addr+"/metrics") {
		t.Errorf("the demo does not say where its metrics are:\n%s", out.String())
	}
	if last == "" {
		t.Fatal("no scrape of the demo's metrics succeeded while it ran")
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(last))
	if err != nil {
		t.Fatal(err)
	}
	calls := sum.Results[0].Calls
	requests := fams["fleeting_plugin_ec2spot_aws_requests_total"].GetMetric()
	if len(requests) == 0 {
		t.Fatal("no AWS requests in the demo's metrics")
	}
	scraped := map[string]float64{}
	for _, m := range requests {
		scraped[label(m, "service")+":"+label(m, "action")] += m.GetCounter().GetValue()
	}
	for action, n := range scraped {
		if n > float64(calls[action]) {
			t.Errorf("%s: scraped %g requests, the simulator saw %d in the whole run", action, n, calls[action])
		}
	}
	if scraped["autoscaling:DescribeAutoScalingGroups"] == 0 {
		t.Errorf("the scrape shows no DescribeAutoScalingGroups: %v", scraped)
	}
	lives := len(workload.Lives(sum.Results[0].Events))
	if h := fams["fleeting_plugin_ec2spot_capacity_request_to_in_service_seconds"].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() == 0 || int(h[0].GetHistogram().GetSampleCount()) > lives {
		t.Errorf("request-to-InService observations %v, want between 1 and the %d instances launched", h, lives)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
