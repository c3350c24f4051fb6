package admin

import (
	"context"
	"flag"
	"fmt"
)

const doctorUsage = `Usage: fleeting-plugin-ec2spot doctor --config FILE [--runner NAME]
       fleeting-plugin-ec2spot doctor --name GROUP [--region REGION]

Checks, without changing anything, what the plugin needs: credentials and
region, the group and every set-up rule the plugin enforces at start, the
launch template's AMI against the connector OS, availability zones, recent
failed scaling activities, the interruption queue and its EventBridge rules,
and each IAM action of the runner manager's policy. FILE is GitLab Runner's
config.toml (every [[runners]] using this plugin, or --runner NAME) or a
plugin_config JSON file. Run it with the runner manager's credentials.
One line per check: ok / warn / fail with the fix. Exit status 1 on failures.

Flags:
`

func (c CLI) doctor(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, doctorUsage)
		fs.PrintDefaults()
	}
	tf := addTargetFlags(fs, "check")
	queue := fs.String("interruption-queue-url", "", "queue URL (overrides plugin_config interruption_queue_url)")
	if exit, ok := tf.parse(fs, args); !ok {
		return exit
	}
	targets, err := tf.targets()
	if err != nil {
		fmt.Fprintf(c.Stderr, "doctor: %v\n", err)
		return ExitUsage
	}
	failed := false
	for _, t := range targets {
		if *queue != "" {
			t.Target.Plugin.InterruptionQueueURL = *queue
		}
		if len(targets) > 1 || t.Runner != "" {
			fmt.Fprintf(c.Stdout, "runner %q, group %q:\n", t.Runner, t.Target.Plugin.Name)
		}
		results := RunDoctor(ctx, t.Target, c.LoadAWS)
		if WriteResults(c.Stdout, results) {
			failed = true
		}
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}
