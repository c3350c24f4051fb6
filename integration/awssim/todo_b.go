package awssim

// Stubs of the functions helper B (EC2, Instance Connect, SQS, SSH hosts)
// owns. Delete each as it is implemented in its real file; delete this file
// when empty.

// startSSHHostLocked starts the instance's SSH host when Options.SSH is set.
func (s *Sim) startSSHHostLocked(inst *Instance) {}

// stopSSHHostLocked stops it (instance terminated).
func (s *Sim) stopSSHHostLocked(inst *Instance) {}

// publishEventLocked delivers an EventBridge-shaped event to every queue
// subscribed to it (see Sim.SubscribeQueue).
func (s *Sim) publishEventLocked(source, detailType string, resources []string, detail any) {}
