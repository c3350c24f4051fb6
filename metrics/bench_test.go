package metrics

import (
	"fmt"
	"testing"
	"time"
)

// The per-Update cost metrics add for a large group (metrics_listen set;
// without it the provider skips all of this).
func BenchmarkUpdate1000Members(b *testing.B) {
	m := New(nil)
	members := make([]Instance, 1000)
	for n := range members {
		members[n] = Instance{ID: fmt.Sprintf("i-%017d", n), State: "running", Market: "spot",
			AvailabilityZone: fmt.Sprintf("us-east-1%c", 'a'+n%3), InstanceType: []string{"m5.large", "m6i.large"}[n%2], InService: true}
	}
	members[0].InterruptedAt = time.Now()
	members[0].State = "deleting"
	m.Update(members)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m.Update(members)
	}
}
