//go:build !unix

package sshhost

import "os/exec"

func killProcessGroup(*exec.Cmd) {}

func signalName(err *exec.ExitError) string {
	if err.ExitCode() == -1 {
		return "KILL"
	}
	return ""
}
