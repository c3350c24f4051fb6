package ec2spot

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// FuzzLifecycleMapping: any lifecycle state string AWS might send (a new
// one included) classifies without a panic into a named phase; a state the
// plugin does not know still counts as a billing member, and a snapshot of
// such members keeps every one of them, findable by id.
func FuzzLifecycleMapping(f *testing.F) {
	for _, s := range types.LifecycleState("").Values() {
		f.Add(string(s), "i-0123456789abcdef0")
	}
	for _, s := range []string{"", "InService ", "inservice", "Pending:Frozen", "Warmed:Exploded", "Terminating:Retained", "\x00", "Ünknown"} {
		f.Add(s, "")
	}
	known := map[types.LifecycleState]bool{}
	for _, s := range types.LifecycleState("").Values() {
		known[s] = true
	}
	f.Fuzz(func(t *testing.T, state, id string) {
		ls := types.LifecycleState(state)
		p := Classify(ls)
		if p.String() == "invalid" {
			t.Fatalf("Classify(%q) = an unnamed phase %d", state, p)
		}
		if !known[ls] && (p != PhaseUnknown || !p.CountsTowardDesired()) {
			t.Fatalf("unknown state %q classified %s (counts toward desired: %v)", state, p, p.CountsTowardDesired())
		}
		if known[ls] && p == PhaseUnknown {
			t.Fatalf("AWS state %q not mapped", state)
		}

		snap := newSnapshot(&types.AutoScalingGroup{
			AutoScalingGroupName: aws.String("runners"),
			Instances: []types.Instance{
				{InstanceId: aws.String(id), LifecycleState: ls},
				{InstanceId: aws.String("i-00000000000000001"), LifecycleState: types.LifecycleStateInService},
			},
		}, time.Time{})
		if id == "i-00000000000000001" {
			return // the same id twice: the describe's last entry wins
		}
		if id == "" {
			if len(snap.Instances) != 1 {
				t.Fatalf("a member without an id was kept: %+v", snap.Instances)
			}
			return
		}
		inst, ok := snap.Instance(id)
		if !ok || inst.Phase != p {
			t.Fatalf("member %q (%q) lost or reclassified in the snapshot: %+v", id, state, inst)
		}
	})
}
