package admin

// Internals the external tests check.
var (
	MutatingActions = mutating
	PolicyTemplate  = runnerPolicyTemplate
)
