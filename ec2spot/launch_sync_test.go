package ec2spot

import (
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// liveInstances counts the instances the simulator bills for.
func liveInstances(s *awssim.Sim) int {
	n := 0
	for _, i := range s.Instances() {
		if i.State != "terminated" && i.State != "shutting-down" {
			n++
		}
	}
	return n
}

// A LaunchInstances that takes effect but whose answer is lost must count
// what it launched and never launch the same request again elsewhere:
// fleeting's accounting (one pending request per counted instance) and the
// bill depend on it.
func TestLaunchSyncLostReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault awssim.Fault
		n     int
		// launched is what must exist afterwards and what LaunchSync
		// must report.
		launched int
		wantErr  string
		// calls bounds the LaunchInstances calls (SDK attempts included).
		calls int
	}{
		{
			// Every answer lost: the SDK's attempts and the re-ask with the
			// same token all lose theirs; the describe shows what happened.
			name: "every reply lost", n: 1, launched: 1, calls: 4,
			fault: awssim.Fault{Service: "autoscaling", Action: "LaunchInstances", DropResponse: true},
		},
		{
			name: "every reply lost, several instances", n: 3, launched: 3, calls: 4,
			fault: awssim.Fault{Service: "autoscaling", Action: "LaunchInstances", DropResponse: true},
		},
		{
			// The SDK's three attempts lose their answers; the re-ask with
			// the same ClientToken gets AWS's original answer.
			name: "re-ask with the same token answers", n: 2, launched: 2, calls: 4,
			fault: awssim.Fault{Service: "autoscaling", Action: "LaunchInstances", DropResponse: true, Count: 3},
		},
		{
			// The call never reached AWS (or cannot be confirmed): nothing
			// is counted, and nothing is tried in another zone under a new
			// token, which would launch twice if the first had gone through.
			name: "no call reaches AWS", n: 1, launched: 0, calls: 4, wantErr: "no instance launched",
			fault: awssim.Fault{Service: "autoscaling", Action: "LaunchInstances", Reset: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fastSim(t, awssim.Options{})
			g, sp, logs := spotGroup(t, s, awssim.GroupSpec{Name: "runners"}, SpotOptions{})
			ctx := testCtx(t)
			if _, _, err := g.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			s.ResetCalls()
			s.InjectFault(tc.fault)
			res, _, err := g.launchSync(ctx, tc.n, sp.syncLaunch())
			s.ClearFaults()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("LaunchSync(%d) error %v, want %q", tc.n, err, tc.wantErr)
			}
			if got := liveInstances(s); got != tc.launched {
				t.Errorf("%d instances exist, want %d", got, tc.launched)
			}
			if res.Requested != tc.launched || res.Desired != tc.launched {
				t.Errorf("LaunchSync(%d) = %+v, want %d requested (what exists)", tc.n, res, tc.launched)
			}
			if gr, _ := s.Group("runners"); gr.Desired != tc.launched {
				t.Errorf("group desired %d, want %d", gr.Desired, tc.launched)
			}
			if n := s.CallCount("autoscaling", "LaunchInstances"); n > tc.calls {
				t.Errorf("%d LaunchInstances calls, want at most %d", n, tc.calls)
			}
			// The plugin's accounting agrees with AWS: no drift warning,
			// and the next launch builds on what exists.
			if _, drift, err := g.Refresh(ctx); err != nil || drift != nil {
				t.Errorf("Refresh after the launch: drift %+v, %v", drift, err)
			}
			res, _, err = g.launchSync(ctx, 1, sp.syncLaunch())
			if err != nil || res.From != tc.launched || liveInstances(s) != tc.launched+1 {
				t.Errorf("next LaunchSync(1) = %+v, %v with %d instances; want from %d", res, err, liveInstances(s), tc.launched)
			}
			if tc.launched > 0 && !strings.Contains(logs.String(), "answer was lost") {
				t.Errorf("the lost answer is not logged:\n%s", logs)
			}
		})
	}
}
