package main

import "testing"

// With the runner's magic cookie set every start goes to fleeting, even one
// whose arguments a person would get the usage for; setup and doctor are
// the admin commands with or without it, as before.
func TestRouteRunnerStartIsUnchanged(t *testing.T) {
	runner := func(k string) string {
		if k == cookieKey {
			return "any value: go-plugin checks it"
		}
		return ""
	}
	person := func(string) string { return "" }
	for _, tc := range []struct {
		args   []string
		getenv func(string) string
		want   route
	}{
		{nil, runner, routeServe},
		{[]string{"--help"}, runner, routeServe},
		{[]string{"setup"}, runner, routeAdmin}, // as before
		{nil, person, routeBareRun},
		{[]string{"help"}, person, routeHelp},
		{[]string{"-h"}, person, routeHelp},
		{[]string{"--help"}, person, routeHelp},
		{[]string{"setup", "--dry-run"}, person, routeAdmin},
		{[]string{"doctor"}, person, routeAdmin},
		{[]string{"status", "--json"}, person, routeAdmin},
		{[]string{"version"}, person, routeServe},
		{[]string{"-version"}, person, routeServe},
		{[]string{"bootstrap", "registry.gitlab.com/x"}, person, routeServe},
		{[]string{"serve"}, person, routeServe},
		{[]string{"sertup"}, person, routeUnknown},
	} {
		if got := routeOf(tc.args, tc.getenv); got != tc.want {
			t.Errorf("routeOf(%q, cookie %v) = %d, want %d", tc.args, tc.getenv(cookieKey) != "", got, tc.want)
		}
	}
}
