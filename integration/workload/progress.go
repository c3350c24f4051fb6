package workload

import (
	"fmt"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/driver"
)

// progressLine is one periodic terminal line: instances by market and
// state as AWS bills them, the queue, jobs done and failed. Every figure
// is name=value, so none reads as belonging to its neighbour.
func progressLine(scenario string, mode Mode, t time.Duration, s *Sample, st driver.Stats) string {
	m := s.Instances
	return fmt.Sprintf("[%s %-13s %6s] on-demand: up=%d booting=%d | spot: up=%d noticed=%d booting=%d | terminating=%d | jobs: queued=%d running=%d done=%d failed=%d",
		scenario, mode, clock(t),
		m["on-demand/running"], m["on-demand/creating"],
		m["spot/running"], m["spot/noticed"], m["spot/creating"],
		m["on-demand/terminating"]+m["spot/terminating"],
		s.Queued, s.Running, st.Done, st.Failed)
}

// clock formats a simulated offset as m:ss.
func clock(t time.Duration) string {
	t = t.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(t.Minutes()), int(t.Seconds())%60)
}
