package provider

import (
	"encoding/json"
	"fmt"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// The API budget keys of plugin_config: api_rate_limits (requests per
// second) and api_rate_bursts (requests at once), each per API family.

// APIRateLimits is plugin_config.api_rate_limits, requests per second.
type APIRateLimits struct {
	AutoScaling     float64 `json:"autoscaling"`
	EC2             float64 `json:"ec2"`
	InstanceConnect float64 `json:"instance_connect"`
}

// APIRateBursts is plugin_config.api_rate_bursts, requests.
type APIRateBursts struct {
	AutoScaling     int `json:"autoscaling"`
	EC2             int `json:"ec2"`
	InstanceConnect int `json:"instance_connect"`
}

// Bounds of the budget keys; the defaults are in config_defaults.go.
const (
	maxAPIRate  = 1000
	maxAPIBurst = 10000
)

var apiRateLimitFields = []tableField[APIRateLimits]{
	{"autoscaling", func(l *APIRateLimits, r json.RawMessage) error { return decodeValue(r, &l.AutoScaling) }},
	{"ec2", func(l *APIRateLimits, r json.RawMessage) error { return decodeValue(r, &l.EC2) }},
	{"instance_connect", func(l *APIRateLimits, r json.RawMessage) error { return decodeValue(r, &l.InstanceConnect) }},
}

var apiRateBurstFields = []tableField[APIRateBursts]{
	{"autoscaling", func(b *APIRateBursts, r json.RawMessage) error { return decodeValue(r, &b.AutoScaling) }},
	{"ec2", func(b *APIRateBursts, r json.RawMessage) error { return decodeValue(r, &b.EC2) }},
	{"instance_connect", func(b *APIRateBursts, r json.RawMessage) error { return decodeValue(r, &b.InstanceConnect) }},
}

// validateRateLimits reports the problems of the budget keys, in key order.
func (c *Config) validateRateLimits() []error {
	var errs []error
	l, b := c.APIRateLimits, c.APIRateBursts
	for _, r := range []struct {
		key string
		v   float64
	}{{"autoscaling", l.AutoScaling}, {"ec2", l.EC2}, {"instance_connect", l.InstanceConnect}} {
		if r.v <= 0 || r.v > maxAPIRate {
			errs = append(errs, fmt.Errorf("%s %q: %g (want requests per second above 0, at most %d)", msgInvalid, "api_rate_limits."+r.key, r.v, maxAPIRate))
		}
	}
	for _, r := range []struct {
		key string
		v   int
	}{{"autoscaling", b.AutoScaling}, {"ec2", b.EC2}, {"instance_connect", b.InstanceConnect}} {
		if r.v < 1 || r.v > maxAPIBurst {
			errs = append(errs, fmt.Errorf("%s %q: %d (want 1 to %d requests)", msgInvalid, "api_rate_bursts."+r.key, r.v, maxAPIBurst))
		}
	}
	return errs
}

// rateLimits maps the budget keys onto ec2spot.
func (c *Config) rateLimits() ec2spot.RateLimits {
	l, b := c.APIRateLimits, c.APIRateBursts
	return ec2spot.RateLimits{
		AutoScaling:     ec2spot.RateLimit{Rate: l.AutoScaling, Burst: b.AutoScaling},
		EC2:             ec2spot.RateLimit{Rate: l.EC2, Burst: b.EC2},
		InstanceConnect: ec2spot.RateLimit{Rate: l.InstanceConnect, Burst: b.InstanceConnect},
	}
}
