// Package faults holds the fault suite: the plugin binary, driven by the
// real fleeting provisioner against the simulated AWS, under throttling,
// outages, hangs, credential loss, operator interference, process kills
// and bad interruption events. See faults_test.go.
package faults
