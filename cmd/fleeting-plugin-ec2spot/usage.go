package main

import (
	"fmt"
	"io"
)

// cookieKey is the environment variable GitLab Runner (fleeting's go-plugin
// handshake) sets when it starts the plugin; fleeting keeps it in an
// internal package. Its presence means "serve", whatever the arguments.
const cookieKey = "FLEETING_INSTANCE_GROUP_PLUGIN"

const usageText = `Usage: fleeting-plugin-ec2spot <command> [flags]

GitLab Runner fleeting plugin for EC2 Auto Scaling groups with Spot and
On-Demand instances. GitLab Runner starts this binary itself (plugin = "…"
in config.toml, [runners.autoscaler]); the commands below are for people.

Commands:
  setup      create or update the Auto Scaling group, launch template and
             interruption queue; prints the config.toml snippet and the
             runner manager's IAM policy (setup --help, setup --dry-run)
  doctor     check a runner's config.toml against AWS: group, IAM, queue,
             protection (doctor --help)
  status     show the group's instances, what the plugin reports for each
             and why, recent scaling activities (status --help); read-only
  version    print version, git revision and build date (also -version)
  bootstrap  install this binary where GitLab Runner looks for plugins
             (fleeting's: bootstrap <plugin repository path>)
  help       this text (also -h, --help)
`

// Exit codes of the dispatch (setup and doctor have their own).
const (
	exitOK    = 0
	exitUsage = 2
)

// route decides what a start of the binary is: the runner's (serve), a
// fleeting command (version, bootstrap), an admin command, or a person
// asking for help or typing something unknown.
type route int

const (
	routeServe   route = iota // fleeting's plugin.Main: serve, version, bootstrap
	routeAdmin                // setup, doctor, status
	routeHelp                 // usage on stdout, exit 0
	routeBareRun              // usage and a hint on stderr, exit 2
	routeUnknown              // unknown command on stderr, exit 2
)

func routeOf(args []string, getenv func(string) string) route {
	if len(args) > 0 && (args[0] == "setup" || args[0] == "doctor" || args[0] == "status") {
		return routeAdmin // as before this dispatch existed
	}
	if getenv(cookieKey) != "" {
		return routeServe // the runner's start: exactly as fleeting does it
	}
	if len(args) == 0 {
		return routeBareRun
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return routeHelp
	case "version", "-version", "--version", "bootstrap", "serve":
		return routeServe
	}
	return routeUnknown
}

// person serves the routes that print usage; it returns the exit code.
func person(r route, args []string, stdout, stderr io.Writer) int {
	switch r {
	case routeHelp:
		fmt.Fprint(stdout, usageText)
		return exitOK
	case routeBareRun:
		fmt.Fprint(stderr, usageText)
		fmt.Fprintln(stderr, "\nThis is a GitLab Runner plugin: the runner starts it, configured in config.toml;\nrun it yourself only with one of the commands above.")
		return exitUsage
	default:
		fmt.Fprintf(stderr, "fleeting-plugin-ec2spot: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
}
