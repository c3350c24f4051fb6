package workload

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// actor plays one kind of AWS trouble during a run.
type actor func(ctx context.Context, clk simClock)

func scenarioActors(sc Scenario, sim *awssim.Sim, rec *recorder, window time.Duration) []actor {
	var actors []actor
	if in := sc.Interruptions; in != nil && in.PerSpotHour > 0 {
		actors = append(actors, interrupter(*in, sc.Seed, sim, rec, window))
	}
	if o := sc.Outage; o != nil {
		types := sc.Group.InstanceTypes
		if len(types) == 0 {
			types = []string{"t3.micro", "t3a.micro", "m5.large"}
		}
		actors = append(actors, func(ctx context.Context, clk simClock) {
			if !clk.sleepUntil(ctx, o.From) {
				return
			}
			for _, t := range types {
				sim.SetPoolCapacity(t, "", awssim.Spot, 0)
			}
			rec.add(Event{T: clk.now(), Kind: Phase, Detail: "spot capacity outage begins"})
			if !clk.sleepUntil(ctx, o.To) {
				return
			}
			for _, t := range types {
				sim.SetPoolCapacity(t, "", awssim.Spot, -1)
			}
			rec.add(Event{T: clk.now(), Kind: Phase, Detail: "spot capacity back"})
		})
	}
	if th := sc.Throttle; th != nil {
		// Buckets refill in real time: scale the simulated rates.
		sim.SetThrottle("autoscaling", th.AutoScalingRate*sc.Speed, th.Burst)
		sim.SetThrottle("ec2", th.EC2Rate*sc.Speed, th.Burst)
		sim.SetThrottle("ec2-instance-connect", th.InstanceConnectRate*sc.Speed, th.Burst)
		rec.add(Event{Kind: Phase, Detail: fmt.Sprintf("throttling: autoscaling %.2g/s, ec2 %.2g/s, instance connect %.2g/s, burst %d",
			th.AutoScalingRate, th.EC2Rate, th.InstanceConnectRate, th.Burst)})
	}
	return actors
}

// interrupter gives running spot instances notices at PerSpotHour per
// spot instance-hour, checked every simulated minute. The draws come from
// Draw(seed, minute, n) for the n-th spot instance the run launched, not
// from a shared random stream: both modes of a comparison (and every rerun
// with the same seed) face the same fate for their n-th spot instance at
// each minute, however many instances each mode happens to run.
func interrupter(in Interruptions, seed int64, sim *awssim.Sim, rec *recorder, window time.Duration) actor {
	to := in.To
	if to <= 0 {
		to = window
	}
	return func(ctx context.Context, clk simClock) {
		if !clk.sleepUntil(ctx, in.From) {
			return
		}
		serial := map[string]int{} // spot instance → its launch rank
		for minute := 1; clk.now() < to; minute++ {
			if !clk.sleep(ctx, time.Minute) {
				return
			}
			spot := sim.Instances()
			sort.SliceStable(spot, func(i, j int) bool {
				if !spot[i].LaunchTime.Equal(spot[j].LaunchTime) {
					return spot[i].LaunchTime.Before(spot[j].LaunchTime)
				}
				return spot[i].ID < spot[j].ID
			})
			for _, inst := range spot {
				if inst.Market != awssim.Spot {
					continue
				}
				if _, ok := serial[inst.ID]; !ok {
					serial[inst.ID] = len(serial)
				}
				if inst.State != "running" || inst.InterruptionAction != "" {
					continue
				}
				if Draw(seed, minute, serial[inst.ID]) >= in.PerSpotHour/60 {
					continue
				}
				if err := sim.Interrupt(inst.ID, "terminate"); err == nil {
					rec.add(Event{T: clk.now(), Kind: Notice, Instance: inst.ID})
				}
			}
		}
	}
}

// Draw is a uniform number in [0, 1) fixed by (seed, minute, n): the
// interruption draw of a run's n-th spot instance at that minute.
func Draw(seed int64, minute, n int) float64 {
	x := uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(minute)<<32 ^ uint64(n)
	// splitmix64 finaliser
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
