package awssim

import "gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/sshhost"

// bState is the simulator state behind the SSH hosts and EventBridge
// delivery, guarded by Sim.mu like the rest of the world.
type bState struct {
	sshHosts map[string]*sshhost.Host // by instance id, while running
	sshPort  int                      // port shared by every host once bound
	sshErr   error                    // last failure to start a host

	// subscriptions: queue name → detail types routed to it (empty = all),
	// like an EventBridge rule targeting the queue.
	subscriptions map[string][]string
	duplicate     bool // deliver every event twice
	reorder       bool // put new events at the front of queues
}

// resetBLocked stops every SSH host and drops subscriptions (Reset).
func (s *Sim) resetBLocked() {
	for id, h := range s.b.sshHosts {
		h.Stop()
		delete(s.b.sshHosts, id)
	}
	s.b.subscriptions = nil
	s.b.duplicate, s.b.reorder = false, false
}
