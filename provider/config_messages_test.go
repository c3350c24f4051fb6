package provider

import (
	"strings"
	"testing"
)

// Every plugin_config key, nested ones as "table.key", with a value of the
// wrong type and of the right type but wrong value, and the message each
// must produce. A key without an entry fails TestEveryConfigKeyHasMessageTests.
var configKeyMessages = map[string]struct {
	wrongType, typeMsg   string
	wrongValue, valueMsg string // "" when any value of the right type is valid
}{
	"name":                   {`["runners"]`, `want a string, got a list`, `""`, `missing required plugin config: name`},
	"profile":                {`{}`, `want a string, got a table`, ``, ``},
	"config_file":            {`1`, `want a string, got number 1`, `"/nonexistent/config"`, `stat /nonexistent/config: no such file or directory`},
	"credentials_file":       {`false`, `want a string, got boolean false`, `"/"`, `/ is a directory`},
	"region":                 {`["eu-west-1"]`, `want a string, got a list`, `"EU"`, `"EU" (want a region code such as eu-central-1)`},
	"assume_role":            {`"arn:aws:iam::123456789012:role/r"`, `want a table with role_arn, external_id, session_name, duration`, `{}`, `missing required plugin config: assume_role.role_arn`},
	"retry_mode":             {`true`, `want a string, got boolean true`, `"exponential"`, `"exponential" (want standard or adaptive)`},
	"retry_max_attempts":     {`3.5`, `want an integer, got number 3.5`, `21`, `21 (want 1 to 20)`},
	"api_call_timeout":       {`[]`, `want a duration string such as "15m", got a list`, `"500ms"`, `500ms (want between 1s and 10m)`},
	"interruption_queue_url": {`{"url":"x"}`, `want a string, got a table`, `"runner-interruptions"`, `(want the queue URL, e.g. https://sqs.`},
	"rebalance":              {`1`, `want a string, got number 1`, `"terminate"`, `"terminate" (want drain or ignore)`},
	"on_demand_fallback":     {`"2m"`, `want a table, got string "2m"`, ``, ``},
	"fleet":                  {`["m5.large"]`, `want a table, got a list`, ``, ``},
	"launch_mode":            {`false`, `want a string, got boolean false`, `"sync"`, `"sync" (want asynchronous or synchronous)`},
	"poll_interval":          {`true`, `want a duration string such as "15m", got boolean true`, `"11m"`, `11m0s (want between 100ms and 10m)`},
	"spot_check_max_age":     {`"3"`, `"3" is not a duration`, `"2m"`, `2m0s (want between 100ms and 1m; AWS gives two minutes' notice)`},
	"ready_when":             {`true`, `want a string, got boolean true`, `"status_ok"`, `"status_ok" (did you mean "status-ok"? want running, status-ok, lifecycle-hook)`},
	"api_rate_limits":        {`5`, `want a table, got number 5`, ``, ``},
	"api_rate_bursts":        {`"20"`, `want a table, got string "20"`, ``, ``},
	"metrics_listen":         {`9252`, `want a string, got number 9252`, `"9252"`, `"9252" (want host:port, e.g. "127.0.0.1:9252"`},

	"assume_role.role_arn":     {`123`, `want a string, got number 123`, `"role/runner"`, `"role/runner" (want arn:aws:iam::<account>:role/<name>)`},
	"assume_role.external_id":  {`[]`, `want a string, got a list`, `"x"`, `want 2 to 1224 characters`},
	"assume_role.session_name": {`{}`, `want a string, got a table`, `"a"`, `"a" (want 2 to 64 characters`},
	"assume_role.duration":     {`[]`, `want a duration string such as "15m", got a list`, `"13h"`, `13h0m0s (want between 15m and 12h)`},

	"on_demand_fallback.after": {`true`, `want a duration string such as "15m", got boolean true`, `"25h"`, `25h0m0s (want between 1s and 24h)`},
	"on_demand_fallback.hold":  {`{}`, `want a duration string such as "15m", got a table`, `"0.5s"`, `500ms (want between 1s and 24h)`},

	"fleet.instance_types":                           {`"m5.large"`, `want a list of strings, got string "m5.large"`, `["m5.large","m5.large"]`, `"m5.large" listed twice`},
	"fleet.on_demand_base_capacity":                  {`"1"`, `want an integer, got string "1"`, `-2`, `-2 (want 0 or more)`},
	"fleet.on_demand_percentage_above_base_capacity": {`"50%"`, `want an integer, got string "50%"`, `150`, `150 (want 0 to 100)`},
	"fleet.spot_allocation_strategy":                 {`2`, `want a string, got number 2`, `"cheapest"`, `"cheapest" (want price-capacity-optimized`},
	"fleet.capacity_rebalance":                       {`"off"`, `want true or false, got string "off"`, ``, ``},

	"api_rate_limits.autoscaling":      {`"5/s"`, `want a number, got string "5/s"`, `-1`, `-1 (want requests per second above 0, at most 1000)`},
	"api_rate_limits.ec2":              {`true`, `want a number, got boolean true`, `5000`, `5000 (want requests per second above 0, at most 1000)`},
	"api_rate_limits.instance_connect": {`[]`, `want a number, got a list`, `-0.5`, `-0.5 (want requests per second above 0, at most 1000)`},
	"api_rate_bursts.autoscaling":      {`1.5`, `want an integer, got number 1.5`, `-3`, `-3 (want 1 to 10000 requests)`},
	"api_rate_bursts.ec2":              {`"50"`, `want an integer, got string "50"`, `20000`, `20000 (want 1 to 10000 requests)`},
	"api_rate_bursts.instance_connect": {`{}`, `want an integer, got a table`, `-1`, `-1 (want 1 to 10000 requests)`},
}

// configWith puts raw at key (dotted for nested tables) in an otherwise
// valid plugin_config.
func configWith(key, raw string) string {
	table, sub, nested := strings.Cut(key, ".")
	if !nested {
		if key == "name" {
			return `{"name":` + raw + `}`
		}
		return `{"name":"runners","` + key + `":` + raw + `}`
	}
	inner := `"` + sub + `":` + raw
	if table == "assume_role" && sub != "role_arn" {
		inner = `"role_arn":"arn:aws:iam::123456789012:role/r",` + inner
	}
	return `{"name":"runners","` + table + `":{` + inner + `}}`
}

func TestEveryConfigKeyHasMessageTests(t *testing.T) {
	keys := map[string][]string{"": nil}
	for _, f := range configFields {
		keys[""] = append(keys[""], f.key)
	}
	for _, f := range assumeRoleFields {
		keys["assume_role"] = append(keys["assume_role"], f.key)
	}
	for _, f := range fallbackFields {
		keys["on_demand_fallback"] = append(keys["on_demand_fallback"], f.key)
	}
	for _, f := range fleetFields {
		keys["fleet"] = append(keys["fleet"], f.key)
	}
	for _, f := range apiRateLimitFields {
		keys["api_rate_limits"] = append(keys["api_rate_limits"], f.key)
	}
	for _, f := range apiRateBurstFields {
		keys["api_rate_bursts"] = append(keys["api_rate_bursts"], f.key)
	}
	for table, ks := range keys {
		for _, k := range ks {
			if table != "" {
				k = table + "." + k
			}
			if _, ok := configKeyMessages[k]; !ok {
				t.Errorf("plugin_config key %q has no wrong-type/value message test: add it to configKeyMessages", k)
			}
		}
	}
}

func TestConfigKeyMessages(t *testing.T) {
	for key, m := range configKeyMessages {
		t.Run(key, func(t *testing.T) {
			_, msg := configProblems(t, configWith(key, m.wrongType))
			if want := `invalid plugin config value for "` + key + `": ` + m.typeMsg; !strings.Contains(msg, want) {
				t.Errorf("wrong type %s: want %q in\n%s", m.wrongType, want, msg)
			}
			if m.wrongValue == "" {
				return
			}
			_, msg = configProblems(t, configWith(key, m.wrongValue))
			if !strings.Contains(msg, m.valueMsg) || (!strings.HasPrefix(m.valueMsg, "missing") && !strings.Contains(msg, `"`+key+`"`)) {
				t.Errorf("wrong value %s: want %q naming %q in\n%s", m.wrongValue, m.valueMsg, key, msg)
			}
		})
	}
}
