package ec2spot

import (
	"strings"
	"testing"
)

// FuzzEventParsing: any queue message, EventBridge-shaped or not, is
// handled without a panic, and a signal is only ever recorded for an
// instance id the message itself names.
func FuzzEventParsing(f *testing.F) {
	for _, seed := range []string{
		`{"detail-type":"` + EventSpotInterruption + `","source":"aws.ec2","time":"2026-01-01T00:00:00Z","detail":{"instance-id":"i-0123456789abcdef0","instance-action":"terminate"}}`,
		`{"detail-type":"` + EventRebalance + `","source":"aws.ec2","detail":{"instance-id":"i-0123456789abcdef0"}}`,
		`{"detail-type":"` + EventStateChange + `","detail":{"instance-id":"i-0123456789abcdef0","state":"shutting-down"}}`,
		`{"detail-type":"` + EventTerminateSucceeded + `","detail":{"AutoScalingGroupName":"runners","EC2InstanceId":"i-0123456789abcdef0"}}`,
		`{"detail-type":"` + EventTerminateLifecycle + `","detail":{"AutoScalingGroupName":"others","EC2InstanceId":"i-0123456789abcdef0"}}`,
		`{"detail-type":"` + EventLaunchFailed + `","detail":{"AutoScalingGroupName":"runners","StatusMessage":"We currently do not have sufficient t3.micro capacity"}}`,
		`{"detail-type":"` + EventSpotInterruption + `","detail":"not an object"}`,
		`{"detail-type":"` + EventSpotInterruption + `","detail":{"instance-id":5}}`,
		`{"detail-type":"` + EventSpotInterruption + `","time":"yesterday","detail":{}}`,
		`{"detail-type":"","detail":{"instance-id":"i-1"}}`, `{}`, `[]`, `null`, `not json`, ``, `{"detail-type":1}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := spotFor(NewGroup(GroupOptions{Name: "runners"}), SpotOptions{})
		s.handleEvent(body)
		s.mu.Lock()
		defer s.mu.Unlock()
		// JSON decoding turns invalid UTF-8 into U+FFFD and \u escapes
		// into characters: compare with what the decoder saw.
		seen := string([]rune(body)) // one U+FFFD per invalid byte, as the decoder
		for id := range s.signals {
			if !strings.Contains(seen, id) && !strings.Contains(body, `\u`) {
				t.Fatalf("signal recorded for %q, which the message does not name", id)
			}
		}
	})
}
