// Command fleeting-plugin-ec2spot is the GitLab Runner fleeting plugin for
// EC2 Auto Scaling groups with Spot and On-Demand instances.
package main

import (
	"os"

	"gitlab.com/gitlab-org/fleeting/fleeting/plugin"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/admin"
	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/provider"
)

// Set by the Makefile: -ldflags "-X main.version=… -X main.revision=… -X main.buildDate=…".
var version, revision, buildDate string

func main() {
	switch r := routeOf(os.Args[1:], os.Getenv); r {
	case routeAdmin:
		// setup, doctor and status are for people; everything else is fleeting's.
		code, _ := admin.Main(os.Args[1:], func(c *admin.CLI) { c.MapState = provider.ReportedState })
		os.Exit(code)
	case routeServe:
		info := plugin.VersionInfo{Name: "fleeting-plugin-ec2spot", Version: version, Revision: revision, BuiltAt: buildDate}
		plugin.Main(&provider.InstanceGroup{Version: info}, info)
	default:
		os.Exit(person(r, os.Args[1:], os.Stdout, os.Stderr))
	}
}
