package provider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// ReportedState is what Update reports to fleeting for inst, given what
// the spot signals say against it, and why: Update's own mapping
// (stateFor, then the spot override), for `status`. reported is false for
// members Update leaves out.
func ReportedState(inst ec2spot.Instance, v ec2spot.Verdict) (state string, reported bool, why string) {
	// stateFor explains the unusual phases in its log lines: they are the
	// reason, word for word.
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true, Level: hclog.Trace})
	st, ok := stateFor(log, inst)
	why = lastLogMessage(buf.Bytes())
	if !ok {
		return "", false, why
	}
	if why == "" {
		why = fmt.Sprintf("%s (lifecycle state %s)", usualReason[st], inst.LifecycleState)
	}
	if final := verdictState(v, st); final != st {
		return string(final), true, fmt.Sprintf("AWS is taking it: %s (lifecycle state %s)", v.Reason, inst.LifecycleState)
	}
	return string(st), true, why
}

// verdictState overrides the lifecycle mapping for an instance AWS
// announced it takes: deleting instead of creating or running.
func verdictState(v ec2spot.Verdict, state provider.State) provider.State {
	if v.Deleting && (state == provider.StateRunning || state == provider.StateCreating) {
		return provider.StateDeleting
	}
	return state
}

// usualReason words the common states, which stateFor does not log.
var usualReason = map[provider.State]string{
	provider.StateCreating: "launching: no job until it is in service",
	provider.StateRunning:  "in service: fleeting may hand it jobs",
	provider.StateDeleting: "leaving the group",
}

func lastLogMessage(js []byte) string {
	msg := ""
	sc := bufio.NewScanner(bytes.NewReader(js))
	for sc.Scan() {
		var line struct {
			Message string `json:"@message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message != "" {
			msg = line.Message
		}
	}
	return msg
}
