package provider

import (
	"fmt"
	"net"
	"strconv"
)

// validateMetrics checks metrics_listen: host:port, as Prometheus scrape
// targets name it. Unset serves nothing.
func (c *Config) validateMetrics() []error {
	if c.MetricsListen == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(c.MetricsListen)
	if err == nil {
		var p int
		if p, err = strconv.Atoi(port); err == nil && (p < 0 || p > 65535) {
			err = strconv.ErrRange
		}
	}
	if err != nil {
		return []error{fmt.Errorf("%s %q: %q (want host:port, e.g. \"127.0.0.1:9252\", or \":9252\" for every interface)", msgInvalid, "metrics_listen", c.MetricsListen)}
	}
	return nil
}
