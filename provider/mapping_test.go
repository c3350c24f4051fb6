package provider

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

func TestStateForEveryLifecycleState(t *testing.T) {
	type want struct {
		state provider.State // "" = not reported
		level string         // log level expected, "" = none above debug
	}
	creating, running, deleting := provider.StateCreating, provider.StateRunning, provider.StateDeleting
	table := map[types.LifecycleState]want{
		"Pending": {creating, ""}, "Pending:Wait": {creating, ""}, "Pending:Proceed": {creating, ""},
		"Quarantined": {creating, ""},
		"InService":   {running, ""},
		"Terminating": {deleting, ""}, "Terminating:Wait": {deleting, ""}, "Terminating:Proceed": {deleting, ""},
		"Terminating:Retained": {deleting, "[WARN]"},
		"Terminated":           {deleting, ""},
		"EnteringStandby":      {"", "[WARN]"}, "Standby": {"", "[WARN]"},
		"Detaching": {"", "[WARN]"}, "Detached": {"", "[WARN]"},
		"ReplacingRootVolume": {creating, ""}, "ReplacingRootVolume:Wait": {creating, ""},
		"ReplacingRootVolume:Proceed": {creating, ""}, "RootVolumeReplaced": {creating, ""},
		"Warmed:Pending": {"", ""}, "Warmed:Pending:Wait": {"", ""}, "Warmed:Pending:Proceed": {"", ""},
		"Warmed:Pending:Retained": {"", ""}, "Warmed:Terminating": {"", ""}, "Warmed:Terminating:Wait": {"", ""},
		"Warmed:Terminating:Proceed": {"", ""}, "Warmed:Terminating:Retained": {"", ""}, "Warmed:Terminated": {"", ""},
		"Warmed:Stopped": {"", ""}, "Warmed:Running": {"", ""}, "Warmed:Hibernated": {"", ""},
		"FutureState:Wait": {creating, "[ERROR]"},
	}
	for _, s := range types.LifecycleState("").Values() {
		if _, ok := table[s]; !ok {
			t.Errorf("SDK state %q missing from this table", s)
		}
	}
	for ls, w := range table {
		var buf bytes.Buffer
		log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
		state, ok := stateFor(log, ec2spot.Instance{ID: "i-1", LifecycleState: ls, Phase: ec2spot.Classify(ls)})
		if ok != (w.state != "") || state != w.state {
			t.Errorf("%s: got %q (reported %v), want %q", ls, state, ok, w.state)
		}
		if ok && state == "" {
			t.Errorf("%s: reported an empty state", ls)
		}
		switch {
		case w.level == "" && buf.Len() > 0:
			t.Errorf("%s: unexpected log %s", ls, buf.String())
		case w.level != "" && !strings.Contains(buf.String(), w.level):
			t.Errorf("%s: want a %s log line, got %q", ls, w.level, buf.String())
		}
		if w.level != "" && !strings.Contains(buf.String(), "instance=i-1") {
			t.Errorf("%s: log line does not name the instance: %s", ls, buf.String())
		}
	}
}

func TestFillConnectorDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   provider.ConnectorConfig
		d    ec2spot.InstanceDetails
		want provider.ConnectorConfig
	}{
		{"linux amd64", provider.ConnectorConfig{}, ec2spot.InstanceDetails{Architecture: "x86_64", InstanceType: "m5.large"},
			provider.ConnectorConfig{OS: "linux", Arch: "amd64", Protocol: "ssh", Username: "ec2-user", Timeout: DefaultTimeout, Keepalive: DefaultKeepalive}},
		{"linux arm64", provider.ConnectorConfig{}, ec2spot.InstanceDetails{Architecture: "arm64", InstanceType: "m7g.large"},
			provider.ConnectorConfig{OS: "linux", Arch: "arm64", Protocol: "ssh", Username: "ec2-user", Timeout: DefaultTimeout, Keepalive: DefaultKeepalive}},
		{"i386", provider.ConnectorConfig{}, ec2spot.InstanceDetails{Architecture: "i386", InstanceType: "t2.micro"},
			provider.ConnectorConfig{OS: "linux", Arch: "386", Protocol: "ssh", Username: "ec2-user", Timeout: DefaultTimeout, Keepalive: DefaultKeepalive}},
		{"windows", provider.ConnectorConfig{}, ec2spot.InstanceDetails{Platform: "windows", Architecture: "x86_64", InstanceType: "m5.large"},
			provider.ConnectorConfig{OS: "windows", Arch: "amd64", Protocol: "winrm", Username: "Administrator", Timeout: DefaultTimeout, Keepalive: DefaultKeepalive}},
		{"mac", provider.ConnectorConfig{}, ec2spot.InstanceDetails{Architecture: "arm64_mac", InstanceType: "mac2.metal"},
			provider.ConnectorConfig{OS: "darwin", Arch: "arm64", Protocol: "ssh", Username: "ec2-user", Timeout: DefaultTimeout, Keepalive: DefaultKeepalive}},
		{"configured values win", provider.ConnectorConfig{OS: "linux", Arch: "arm64", Protocol: "winrm+https", ProtocolPort: 2222, Username: "ubuntu", Timeout: 1, Keepalive: 2},
			ec2spot.InstanceDetails{Platform: "windows", Architecture: "x86_64"},
			provider.ConnectorConfig{OS: "linux", Arch: "arm64", Protocol: "winrm+https", ProtocolPort: 2222, Username: "ubuntu", Timeout: 1, Keepalive: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			fillConnectorDefaults(&got, tt.d)
			if got.OS != tt.want.OS || got.Arch != tt.want.Arch || got.Protocol != tt.want.Protocol || got.ProtocolPort != tt.want.ProtocolPort ||
				got.Username != tt.want.Username || got.Timeout != tt.want.Timeout || got.Keepalive != tt.want.Keepalive {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
