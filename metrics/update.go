package metrics

import "time"

// Requested records an Increase that requested n instances: the next n
// instances to appear in the group are matched to it, oldest request
// first (as fleeting matches them), for the request-to-InService latency.
func (m *Metrics) Requested(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.capacityRequested.Add(float64(n))
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.pending = append(m.pending, now)
	}
}

// Update takes the members one Update reported: it refreshes the instance
// counts, and observes the latencies that ended (request to InService,
// interruption notice to deleting).
func (m *Metrics) Update(instances []Instance) {
	if m == nil {
		return
	}
	counts := make(map[instanceKey]int, len(instances))
	for _, i := range instances {
		counts[instanceKey{i.State, orUnknown(i.Market), orUnknown(i.AvailabilityZone), orUnknown(i.InstanceType)}]++
	}
	m.instances.set(counts)

	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropStaleLocked(now)
	present := make(map[string]bool, len(instances))
	for _, i := range instances {
		present[i.ID] = true
		t := m.known[i.ID]
		if t == nil {
			t = &track{}
			m.known[i.ID] = t
			// Members in service at the first Update were there before
			// this process; only newcomers fill requests.
			if !(i.InService && !m.seeded) && len(m.pending) > 0 {
				t.requestedAt, m.pending = m.pending[0], m.pending[1:]
			}
			t.done = t.requestedAt.IsZero()
		}
		switch {
		case t.done:
		case i.InService:
			m.requestToService.Observe(now.Sub(t.requestedAt).Seconds())
			t.done = true
		case i.State == "deleting" || i.State == NotReported:
			t.done = true // removed (or taken out) before it served
		}
		if !t.doomSeen && i.State == "deleting" && !i.InterruptedAt.IsZero() {
			m.noticeToDeleting.Observe(max(0, now.Sub(i.InterruptedAt).Seconds()))
			t.doomSeen = true
		}
	}
	m.seeded = true
	for id := range m.known {
		if !present[id] {
			delete(m.known, id)
		}
	}
}

func (m *Metrics) dropStaleLocked(now time.Time) {
	n := 0
	for n < len(m.pending) && now.Sub(m.pending[n]) > pendingMaxAge {
		n++
	}
	m.pending = m.pending[n:]
}

// Seen returns an empty list for an Update's members, with room for n;
// nil (record nothing) when m is nil.
func (m *Metrics) Seen(n int) []Instance {
	if m == nil {
		return nil
	}
	return make([]Instance, 0, n)
}
