package workload

import (
	"context"
	"fmt"
	"math/rand"
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

// interrupter gives each running spot instance a notice with probability
// PerSpotHour/60 every simulated minute.
func interrupter(in Interruptions, seed int64, sim *awssim.Sim, rec *recorder, window time.Duration) actor {
	to := in.To
	if to <= 0 {
		to = window
	}
	return func(ctx context.Context, clk simClock) {
		rng := rand.New(rand.NewSource(seed + 7))
		if !clk.sleepUntil(ctx, in.From) {
			return
		}
		for clk.now() < to {
			if !clk.sleep(ctx, time.Minute) {
				return
			}
			for _, inst := range sim.Instances() {
				if inst.Market != awssim.Spot || inst.State != "running" || inst.InterruptionAction != "" {
					continue
				}
				if rng.Float64() >= in.PerSpotHour/60 {
					continue
				}
				if err := sim.Interrupt(inst.ID, "terminate"); err == nil {
					rec.add(Event{T: clk.now(), Kind: Notice, Instance: inst.ID})
				}
			}
		}
	}
}
