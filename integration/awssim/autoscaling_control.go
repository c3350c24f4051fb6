package awssim

import "fmt"

// Control-API switches of Auto Scaling behaviour that no API call sets.

// Options.TerminateBatch values.
const (
	// TerminateBatchValidationError: the batch form's parameters are
	// ignored, so the call has no InstanceId: ValidationError, as AWS's own
	// older API answers.
	TerminateBatchValidationError = "validation-error"
	// TerminateBatchServerError: a compatible endpoint that fails the call
	// with a 500 InternalFailure.
	TerminateBatchServerError = "server-error"
)

// SetTerminateBatch switches the batch form of
// TerminateInstanceInAutoScalingGroup on ("") or off (see
// Options.TerminateBatch).
func (s *Sim) SetTerminateBatch(mode string) error {
	if mode != "" && mode != TerminateBatchValidationError && mode != TerminateBatchServerError {
		return fmt.Errorf("awssim: terminate batch mode %q is not \"\", %q or %q", mode, TerminateBatchValidationError, TerminateBatchServerError)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.TerminateBatch = mode
	return nil
}

// SetDesiredExternally sets a group's desired capacity as an operator, a
// scaling policy or a scheduled action would (not through the plugin's
// calls, so injected faults do not apply). The usual size limits hold.
func (s *Sim) SetDesiredExternally(group string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return fmt.Errorf("awssim: no group %s", group)
	}
	if apiErr := sizeError(g.MinSize, g.MaxSize, n); apiErr != nil {
		return fmt.Errorf("awssim: %s", apiErr.Message)
	}
	g.Desired = n
	return nil
}
