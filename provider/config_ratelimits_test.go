package provider

import (
	"strings"
	"testing"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

func TestRateLimitDefaults(t *testing.T) {
	c, msg := configProblems(t, `{"name":"g","api_rate_limits":{"ec2":7.5},"api_rate_bursts":{"instance_connect":3}}`)
	if msg != "" {
		t.Fatal(msg)
	}
	want := ec2spot.RateLimits{
		AutoScaling:     ec2spot.RateLimit{Rate: DefaultAutoScalingRate, Burst: DefaultAutoScalingBurst},
		EC2:             ec2spot.RateLimit{Rate: 7.5, Burst: DefaultEC2Burst},
		InstanceConnect: ec2spot.RateLimit{Rate: DefaultInstanceConnectRate, Burst: 3},
	}
	if got := c.rateLimits(); got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}
	c, _ = configProblems(t, `{"name":"g"}`)
	if got := c.rateLimits(); got.AutoScaling.Rate != DefaultAutoScalingRate || got.EC2.Burst != DefaultEC2Burst {
		t.Errorf("defaults without the keys: %+v", got)
	}
}

func TestRateLimitProblems(t *testing.T) {
	for name, tt := range map[string]struct{ json, want string }{
		"table type":  {`{"name":"g","api_rate_limits":10}`, `invalid plugin config value for "api_rate_limits": want a table, got number 10`},
		"typo":        {`{"name":"g","api_rate_limits":{"autoscalling":1}}`, `unknown plugin config key "api_rate_limits.autoscalling" (did you mean "api_rate_limits.autoscaling"?)`},
		"rate type":   {`{"name":"g","api_rate_limits":{"ec2":"fast"}}`, `invalid plugin config value for "api_rate_limits.ec2": want a number, got string "fast"`},
		"rate value":  {`{"name":"g","api_rate_limits":{"autoscaling":-1}}`, `invalid plugin config value for "api_rate_limits.autoscaling": -1 (want requests per second above 0, at most 1000)`},
		"burst type":  {`{"name":"g","api_rate_bursts":{"ec2":1.5}}`, `invalid plugin config value for "api_rate_bursts.ec2": want an integer, got number 1.5`},
		"burst value": {`{"name":"g","api_rate_bursts":{"instance_connect":-2}}`, `invalid plugin config value for "api_rate_bursts.instance_connect": -2 (want 1 to 10000 requests)`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, msg := configProblems(t, tt.json); !strings.Contains(msg, tt.want) {
				t.Errorf("problems do not contain %q:\n%s", tt.want, msg)
			}
		})
	}
}
