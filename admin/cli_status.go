package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// StateMapper is the plugin's own mapping of a member onto what Update
// reports to fleeting (the provider supplies it: admin knows no fleeting).
type StateMapper func(inst ec2spot.Instance, v ec2spot.Verdict) (state string, reported bool, why string)

const statusUsage = `Usage: fleeting-plugin-ec2spot status --config FILE [--runner NAME] [--json]
       fleeting-plugin-ec2spot status --name GROUP [--region REGION] [--json]

Shows, without changing anything, what the plugin sees of its group: each
instance (lifecycle state, what the plugin reports to fleeting and why,
market, zone, type, age, scale-in protection, spot request), the newest
scaling activities with their causes, the group's sizes, the on-demand
fallback and the newest launch failure. A fixed budget of read calls
whatever the group size (DescribeAutoScalingGroups, DescribeInstances,
DescribeSpotInstanceRequests, DescribeScalingActivities); the runner
manager's IAM policy covers them. FILE as for doctor.

Flags:
`

// statusActivitiesShown bounds the activities the text output lists.
const statusActivitiesShown = 10

func (c CLI) status(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, statusUsage)
		fs.PrintDefaults()
	}
	tf := addTargetFlags(fs, "show")
	asJSON := fs.Bool("json", false, "print JSON (one object per group, in a list) for scripts")
	if exit, ok := tf.parse(fs, args); !ok {
		return exit
	}
	if c.MapState == nil {
		fmt.Fprintln(c.Stderr, "status: built without the plugin's state mapping")
		return ExitFailed
	}
	targets, err := tf.targets()
	if err != nil {
		fmt.Fprintf(c.Stderr, "status: %v\n", err)
		return ExitUsage
	}
	var reports []StatusReport
	failed := false
	for _, t := range targets {
		r, err := c.readStatus(ctx, t)
		if err != nil {
			fmt.Fprintf(c.Stderr, "status: %v\n", err)
			failed = true
			continue
		}
		reports = append(reports, *r)
		if !*asJSON {
			writeStatus(c.Stdout, r, len(targets) > 1 || t.Runner != "")
		}
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []StatusReport{}
		}
		_ = enc.Encode(reports)
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}

func (c CLI) readStatus(ctx context.Context, t NamedTarget) (*StatusReport, error) {
	if err := t.Target.ConfigErr; err != nil {
		return nil, err // the plugin's own words, as Init would refuse it
	}
	if t.Target.Plugin.Name == "" {
		return nil, errors.New("plugin_config name (the Auto Scaling group) is missing: set it, or give --name")
	}
	cfg, err := c.LoadAWS(ctx, t.Target.Plugin.AWSOptions())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	st, err := ec2spot.ReadStatus(ctx, ec2spot.NewClients(cfg), t.Target.Plugin.Name, cfg.Region, now)
	if err != nil {
		return nil, err
	}
	return newStatusReport(t.Runner, st, c.MapState), nil
}

// StatusReport is `status --json`'s object for one group.
type StatusReport struct {
	Runner     string            `json:"runner,omitempty"`
	Group      string            `json:"group"`
	Region     string            `json:"region"`
	TakenAt    time.Time         `json:"taken_at"`
	Instances  []StatusInstance  `json:"instances"`
	Activities []StatusActivity  `json:"scaling_activities"`
	Sizes      StatusSizes       `json:"sizes"`
	Fallback   StatusFallback    `json:"on_demand_fallback"`
	Failure    *StatusLaunchFail `json:"newest_launch_failure"`
}

// StatusInstance is one member.
type StatusInstance struct {
	ID             string `json:"id"`
	LifecycleState string `json:"lifecycle_state"`
	Health         string `json:"health"`
	// Reports is the fleeting state Update reports; "" when the plugin
	// leaves the member out (Reported false).
	Reports           string     `json:"reports"`
	Reported          bool       `json:"reported"`
	Why               string     `json:"why"`
	HeartbeatFails    string     `json:"heartbeat_fails,omitempty"`
	Market            string     `json:"market"`
	AvailabilityZone  string     `json:"availability_zone"`
	InstanceType      string     `json:"instance_type"`
	EC2State          string     `json:"ec2_state,omitempty"`
	LaunchTime        *time.Time `json:"launch_time,omitempty"`
	AgeSeconds        int64      `json:"age_seconds"`
	Protected         bool       `json:"protected_from_scale_in"`
	SpotRequestID     string     `json:"spot_request_id,omitempty"`
	SpotRequestState  string     `json:"spot_request_state,omitempty"`
	SpotRequestStatus string     `json:"spot_request_status,omitempty"`
}

// StatusActivity is one scaling activity.
type StatusActivity struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	Description   string     `json:"description"`
	Cause         string     `json:"cause"`
	StatusMessage string     `json:"status_message,omitempty"`
	StartTime     time.Time  `json:"start_time"`
	EndTime       *time.Time `json:"end_time,omitempty"`
}

// StatusSizes are the group's sizes and its members by reported state.
type StatusSizes struct {
	Desired   int            `json:"desired"`
	Min       int            `json:"min"`
	Max       int            `json:"max"`
	Members   int            `json:"members"`
	ByReports map[string]int `json:"by_reported_state"`
}

// StatusFallback is the on-demand fallback.
type StatusFallback struct {
	Phase              string `json:"phase"`
	OnDemandPercentage int    `json:"on_demand_percentage_above_base"`
	OriginalPercentage *int   `json:"original_on_demand_percentage,omitempty"`
	Explanation        string `json:"explanation"`
}

// StatusLaunchFail is the newest failed launch.
type StatusLaunchFail struct {
	ActivityID       string    `json:"activity_id"`
	Time             time.Time `json:"time"`
	Reason           string    `json:"reason"`
	Cause            string    `json:"cause"`
	Hint             string    `json:"hint"`
	AvailabilityZone string    `json:"availability_zone,omitempty"`
	InstanceType     string    `json:"instance_type,omitempty"`
}

func newStatusReport(runner string, st *ec2spot.Status, mapState StateMapper) *StatusReport {
	r := &StatusReport{
		Runner: runner, Group: st.Group, Region: st.Region, TakenAt: st.TakenAt.UTC(),
		Instances: []StatusInstance{}, Activities: []StatusActivity{},
		Sizes: StatusSizes{Desired: st.Desired, Min: st.MinSize, Max: st.MaxSize, Members: len(st.Instances), ByReports: map[string]int{}},
	}
	for _, is := range st.Instances {
		state, reported, why := mapState(is.Instance, is.Verdict)
		si := StatusInstance{
			ID: is.ID, LifecycleState: string(is.LifecycleState), Health: is.HealthStatus,
			Reports: state, Reported: reported, Why: why,
			Market: is.Market, AvailabilityZone: is.AvailabilityZone, InstanceType: is.InstanceType,
			EC2State: is.EC2State, Protected: is.Protected,
			SpotRequestID: is.SpotRequestID, SpotRequestState: is.SpotRequestState, SpotRequestStatus: is.SpotRequestStatus,
		}
		if is.Verdict.Unhealthy {
			si.HeartbeatFails = is.Verdict.Reason
		}
		if !is.LaunchTime.IsZero() {
			lt := is.LaunchTime.UTC()
			si.LaunchTime = &lt
			si.AgeSeconds = max(0, int64(st.TakenAt.Sub(lt).Seconds())) // clocks differ
		}
		key := state
		if !reported {
			key = "not_reported"
		}
		r.Sizes.ByReports[key]++
		r.Instances = append(r.Instances, si)
	}
	for _, a := range st.Activities {
		sa := StatusActivity{ID: a.ID, Status: a.Status, Description: a.Description, Cause: a.Cause, StatusMessage: a.StatusMessage, StartTime: a.StartTime.UTC()}
		if !a.EndTime.IsZero() {
			end := a.EndTime.UTC()
			sa.EndTime = &end
		}
		r.Activities = append(r.Activities, sa)
	}
	f := st.Fallback
	r.Fallback = StatusFallback{Phase: f.Phase, OnDemandPercentage: f.OnDemandPercentage, OriginalPercentage: f.OriginalPercentage}
	switch f.Phase {
	case ec2spot.FallbackOff:
		r.Fallback.Explanation = "the group has no mixed instances policy: it launches one market only, the fallback cannot switch it"
	case ec2spot.FallbackOnDemand:
		orig := "unknown"
		if f.OriginalPercentage != nil {
			orig = fmt.Sprintf("%d%%", *f.OriginalPercentage)
		}
		r.Fallback.Explanation = fmt.Sprintf("in force: the group is at %d%% on-demand above its base; the plugin restores %s when spot capacity is back (group tag %s)", f.OnDemandPercentage, orig, ec2spot.FallbackTagKey)
	default:
		r.Fallback.Explanation = fmt.Sprintf("not in force: the group's own setting, %d%% on-demand above its base", f.OnDemandPercentage)
	}
	if lf := st.LatestFailure; lf != nil {
		r.Failure = &StatusLaunchFail{ActivityID: lf.ActivityID, Time: lf.StartTime.UTC(), Reason: string(lf.Class), Cause: lf.Cause, Hint: lf.Hint,
			AvailabilityZone: lf.AvailabilityZone, InstanceType: lf.InstanceType}
	}
	return r
}

func writeStatus(w io.Writer, r *StatusReport, named bool) {
	if named {
		fmt.Fprintf(w, "runner %q, ", r.Runner)
	}
	fmt.Fprintf(w, "group %s in %s at %s\n\n", r.Group, r.Region, r.TakenAt.Format(time.RFC3339))
	if len(r.Instances) == 0 {
		fmt.Fprintln(w, "no instances")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INSTANCE\tLIFECYCLE\tREPORTS\tMARKET\tZONE\tTYPE\tAGE\tPROTECTED\tSPOT REQUEST\tWHY")
		for _, i := range r.Instances {
			reports := i.Reports
			if !i.Reported {
				reports = "(not reported)"
			}
			age := "-"
			if i.LaunchTime != nil {
				age = (time.Duration(i.AgeSeconds) * time.Second).String()
			}
			why := i.Why
			if i.HeartbeatFails != "" && !strings.Contains(why, i.HeartbeatFails) {
				why += "; Heartbeat fails: " + i.HeartbeatFails
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.LifecycleState, reports, i.Market, i.AvailabilityZone,
				i.InstanceType, age, yesNo(i.Protected), orDash(strings.Trim(i.SpotRequestState+"/"+i.SpotRequestStatus, "/")), why)
		}
		_ = tw.Flush()
	}

	fmt.Fprintf(w, "\nscaling activities (newest first, %d of the %d read):\n", min(len(r.Activities), statusActivitiesShown), len(r.Activities))
	if len(r.Activities) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for n, a := range r.Activities {
		if n == statusActivitiesShown {
			break
		}
		fmt.Fprintf(w, "  %s  %-11s %s\n", a.StartTime.Format(time.RFC3339), a.Status, a.Description)
		if a.Cause != "" {
			fmt.Fprintf(w, "      cause: %s\n", a.Cause)
		}
		if a.StatusMessage != "" {
			fmt.Fprintf(w, "      status: %s\n", a.StatusMessage)
		}
	}

	s := r.Sizes
	fmt.Fprintf(w, "\nsizes: desired %d, min %d, max %d; %d members (%s)\n", s.Desired, s.Min, s.Max, s.Members, countList(s.ByReports))
	fmt.Fprintf(w, "on-demand fallback: %s (%s)\n", r.Fallback.Phase, r.Fallback.Explanation)
	if f := r.Failure; f != nil {
		where := strings.Trim(f.AvailabilityZone+" "+f.InstanceType, " ")
		if where != "" {
			where = " in " + where
		}
		fmt.Fprintf(w, "newest launch failure: %s %s%s: %s\n  fix: %s\n", f.Time.Format(time.RFC3339), f.Reason, where, f.Cause, f.Hint)
	} else {
		fmt.Fprintf(w, "newest launch failure: none among the %d newest activities\n", len(r.Activities))
	}
	fmt.Fprintln(w)
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range []string{"creating", "running", "deleting", "not_reported"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], strings.ReplaceAll(k, "_", " ")))
		}
	}
	return strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
