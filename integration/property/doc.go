// Package property holds the model-based test of issue 12 (tests only):
// random interleavings of the runner's calls against the simulator, with
// lost replies on every mutating Auto Scaling call and AWS acting on its
// own, then the plugin's promises checked. Run it at length with
// `make property`; see property_test.go for the knobs.
package property
