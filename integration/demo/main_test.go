package demo_test

import (
	"os"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/officiallike"
)

// TestMain lets this test binary be the official-like plugin binary, as
// the demo command is: fleeting re-executes it with its handshake set.
func TestMain(m *testing.M) {
	if officiallike.ServeIfPlugin() {
		return
	}
	os.Exit(m.Run())
}

// selfAsOfficialLike is this test binary, for demo.Config.OfficialLikePlugin.
func selfAsOfficialLike(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}
