package demo

import (
	"fmt"
	"io"
	"maps"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/workload"
)

// serveMetrics makes ours' plugin serve its metrics on addr ("" = off),
// and says where.
func serveMetrics(sc *workload.Scenario, addr string, out io.Writer) {
	if addr == "" {
		return
	}
	conf := maps.Clone(sc.PluginConfig) // the scenario table is shared
	if conf == nil {
		conf = map[string]any{}
	}
	conf["metrics_listen"] = addr
	sc.PluginConfig = conf
	fmt.Fprintf(out, "metrics: http://%s/metrics (ours' plugin serves them while the run lasts)\n", addr)
}
