package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/ec2spot"
)

// Config is plugin_config. The first four keys are those of GitLab's AWS
// plugin, so its configs work unchanged.
type Config struct {
	Name             string      `json:"name"`
	Profile          string      `json:"profile"`
	ConfigFile       string      `json:"config_file"`
	CredentialsFile  string      `json:"credentials_file"`
	Region           string      `json:"region"`
	AssumeRole       *AssumeRole `json:"assume_role"`
	RetryMode        string      `json:"retry_mode"`
	RetryMaxAttempts int         `json:"retry_max_attempts"`
	APICallTimeout   Duration    `json:"api_call_timeout"`

	// Spot features (spot_config.go).
	InterruptionQueueURL string            `json:"interruption_queue_url"`
	Rebalance            string            `json:"rebalance"`
	OnDemandFallback     *OnDemandFallback `json:"on_demand_fallback"`
	Fleet                *Fleet            `json:"fleet"`
	LaunchMode           string            `json:"launch_mode"`
	PollInterval         Duration          `json:"poll_interval"`
	SpotCheckMaxAge      Duration          `json:"spot_check_max_age"`

	// ReadyWhen gates running on boot readiness (readiness.go).
	ReadyWhen string `json:"ready_when"`

	// API budgets (config_ratelimits.go).
	APIRateLimits *APIRateLimits `json:"api_rate_limits"`
	APIRateBursts *APIRateBursts `json:"api_rate_bursts"`

	// MetricsListen is the Prometheus metrics address (config_metrics.go).
	MetricsListen string `json:"metrics_listen"`
}

// AssumeRole is plugin_config.assume_role.
type AssumeRole struct {
	RoleARN     string   `json:"role_arn"`
	ExternalID  string   `json:"external_id"`
	SessionName string   `json:"session_name"`
	Duration    Duration `json:"duration"`
}

// Stable message prefixes; each problem names the key.
const (
	msgUnknownKey = "unknown plugin config key"
	msgMissing    = "missing required plugin config"
	msgInvalid    = "invalid plugin config value for"
)

// field decodes one key into its place in the config.
type field struct {
	key    string
	decode func(c *Config, raw json.RawMessage) error
}

var configFields = []field{
	{"name", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.Name) }},
	{"profile", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.Profile) }},
	{"config_file", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.ConfigFile) }},
	{"credentials_file", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.CredentialsFile) }},
	{"region", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.Region) }},
	{"assume_role", nil}, // a table: decoded key by key, see decodeAssumeRole
	{"retry_mode", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.RetryMode) }},
	{"retry_max_attempts", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.RetryMaxAttempts) }},
	{"api_call_timeout", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.APICallTimeout) }},
	{"interruption_queue_url", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.InterruptionQueueURL) }},
	{"rebalance", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.Rebalance) }},
	{"on_demand_fallback", nil}, // tables: decoded key by key, see decodeTable
	{"fleet", nil},
	{"launch_mode", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.LaunchMode) }},
	{"poll_interval", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.PollInterval) }},
	{"spot_check_max_age", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.SpotCheckMaxAge) }},
	{"ready_when", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.ReadyWhen) }},
	{"api_rate_limits", nil},
	{"api_rate_bursts", nil},
	{"metrics_listen", func(c *Config, r json.RawMessage) error { return decodeValue(r, &c.MetricsListen) }},
}

type assumeRoleField struct {
	key    string
	decode func(a *AssumeRole, raw json.RawMessage) error
}

var assumeRoleFields = []assumeRoleField{
	{"role_arn", func(a *AssumeRole, r json.RawMessage) error { return decodeValue(r, &a.RoleARN) }},
	{"external_id", func(a *AssumeRole, r json.RawMessage) error { return decodeValue(r, &a.ExternalID) }},
	{"session_name", func(a *AssumeRole, r json.RawMessage) error { return decodeValue(r, &a.SessionName) }},
	{"duration", func(a *AssumeRole, r json.RawMessage) error { return decodeValue(r, &a.Duration) }},
}

// decodeConfig decodes plugin_config strictly: unknown keys and wrongly
// typed values are all reported, each naming its key, in key order. Keys
// match case-insensitively, as encoding/json (and so the official plugin)
// matches them.
func decodeConfig(data []byte) (Config, []error) {
	var c Config
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return c, nil // no plugin_config at all; validation reports what is missing
	}
	obj, err := decodeObject(data)
	if err != nil {
		return c, []error{fmt.Errorf("plugin config must be a table of keys: %w", err)}
	}

	var errs []error
	known := make([]string, len(configFields))
	for n, f := range configFields {
		known[n] = f.key
	}
	for _, key := range sortedKeys(obj) {
		f, ok := lookupField(configFields, key, func(f field) string { return f.key })
		if !ok {
			errs = append(errs, unknownKey("", key, known))
			continue
		}
		switch f.key {
		case "assume_role":
			c.AssumeRole, err = decodeAssumeRole(obj[key], &errs)
		case "on_demand_fallback":
			c.OnDemandFallback, err = decodeTable(f.key, obj[key], fallbackFields, &errs)
		case "fleet":
			c.Fleet, err = decodeTable(f.key, obj[key], fleetFields, &errs)
		case "api_rate_limits":
			c.APIRateLimits, err = decodeTable(f.key, obj[key], apiRateLimitFields, &errs)
		case "api_rate_bursts":
			c.APIRateBursts, err = decodeTable(f.key, obj[key], apiRateBurstFields, &errs)
		}
		if f.decode == nil {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", msgInvalid, f.key, err))
			}
			continue
		}
		if err := f.decode(&c, obj[key]); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", msgInvalid, f.key, err))
		}
	}
	return c, errs
}

func decodeAssumeRole(raw json.RawMessage, errs *[]error) (*AssumeRole, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, errors.New("want a table with role_arn, external_id, session_name, duration")
	}
	a := &AssumeRole{}
	known := make([]string, len(assumeRoleFields))
	for n, f := range assumeRoleFields {
		known[n] = f.key
	}
	for _, key := range sortedKeys(obj) {
		f, ok := lookupField(assumeRoleFields, key, func(f assumeRoleField) string { return f.key })
		if !ok {
			*errs = append(*errs, unknownKey("assume_role.", key, known))
			continue
		}
		if err := f.decode(a, obj[key]); err != nil {
			*errs = append(*errs, fmt.Errorf("%s %q: %w", msgInvalid, "assume_role."+f.key, err))
		}
	}
	return a, nil
}

func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("got %s", jsonKind(data))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func lookupField[F any](fields []F, key string, name func(F) string) (F, bool) {
	for _, f := range fields {
		if name(f) == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(name(f), key) {
			return f, true
		}
	}
	var zero F
	return zero, false
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// unknownKey names the key (under prefix, e.g. "assume_role.") and the
// closest known one.
func unknownKey(prefix, key string, known []string) error {
	if s := closest(key, known); s != "" {
		return fmt.Errorf("%s %q (did you mean %q?)", msgUnknownKey, prefix+key, prefix+s)
	}
	full := make([]string, len(known))
	for n, k := range known {
		full[n] = prefix + k
	}
	return fmt.Errorf("%s %q (known keys: %s)", msgUnknownKey, prefix+key, strings.Join(full, ", "))
}

// decodeValue decodes one JSON value, rewording type errors as
// "want a string, got number 5".
func decodeValue[T any](raw json.RawMessage, into *T) error {
	err := json.Unmarshal(raw, into)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("want %s, got %s", kindName(typeErr.Type.Kind().String()), jsonKind(raw))
	}
	return err
}

func kindName(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "a table"
	default:
		return goKind
	}
}

// jsonKind names a raw JSON value for messages, with a short excerpt.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	excerpt := string(raw)
	if len(excerpt) > 40 {
		excerpt = excerpt[:40] + "…"
	}
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string " + excerpt
	case '{':
		return "a table"
	case '[':
		return "a list"
	case 't', 'f':
		return "boolean " + excerpt
	case 'n':
		return "null"
	default:
		return "number " + excerpt
	}
}

// AWSOptions maps the config onto the AWS loader's options, for the plugin
// and for doctor and status, which must reach AWS as the plugin does.
func (c Config) AWSOptions() ec2spot.AWSOptions {
	o := ec2spot.AWSOptions{
		Region:           c.Region,
		Profile:          c.Profile,
		ConfigFile:       c.ConfigFile,
		CredentialsFile:  c.CredentialsFile,
		RetryMode:        aws.RetryMode(c.RetryMode),
		RetryMaxAttempts: c.RetryMaxAttempts,
		CallTimeout:      c.APICallTimeout.Duration,
	}
	if c.APIRateLimits != nil && c.APIRateBursts != nil {
		o.RateLimits = c.rateLimits()
	}
	if a := c.AssumeRole; a != nil {
		o.AssumeRole = &ec2spot.AssumeRoleOptions{
			RoleARN:     a.RoleARN,
			ExternalID:  a.ExternalID,
			SessionName: a.SessionName,
			Duration:    a.Duration.Duration,
		}
	}
	return o
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

var (
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // length checked apart: RE2 caps repeats at 1000
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// ParseConfig is the one door to plugin_config, for Init and for doctor
// and status: it decodes data (the JSON the runner sends) strictly, fills
// the defaults and validates. The error is a *ConfigError naming every
// problem; the Config is complete (defaulted) either way.
func ParseConfig(data []byte) (Config, error) {
	c, errs := parseConfig(data)
	if len(errs) > 0 {
		return c, &ConfigError{Problems: errs}
	}
	return c, nil
}

func parseConfig(data []byte) (Config, []error) {
	c, errs := decodeConfig(data)
	c.ConfigFile = expandHome(c.ConfigFile)
	c.CredentialsFile = expandHome(c.CredentialsFile)
	c.applyDefaults()
	return c, append(errs, c.validate()...)
}

// ConfigError lists every problem of a plugin_config (and, from Init, of
// the connector settings), as the runner log shows them.
type ConfigError struct {
	Problems []error
}

func (e *ConfigError) Error() string {
	return "invalid plugin config:\n" + errors.Join(e.Problems...).Error()
}

func (e *ConfigError) Unwrap() []error { return e.Problems }

// RefuseInit is what Init refuses before it calls AWS: configErr (from
// ParseConfig) and the problems of the runner's connector settings, under
// the one heading of the runner log; nil when Init would go on. doctor
// calls it to refuse exactly what the plugin refuses.
func RefuseInit(configErr error, s provider.Settings) error {
	var ce *ConfigError
	switch {
	case errors.As(configErr, &ce):
		return refuseInit(ce.Problems, s)
	case configErr != nil:
		return refuseInit([]error{configErr}, s)
	}
	return refuseInit(nil, s)
}

func refuseInit(configProblems []error, s provider.Settings) error {
	if problems := append(slices.Clone(configProblems), validateSettings(s)...); len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// validate reports every problem of a defaulted config, in key order.
func (c *Config) validate() []error {
	var errs []error
	invalid := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %q: "+format, append([]any{msgInvalid, key}, args...)...))
	}

	switch {
	case c.Name == "":
		errs = append(errs, fmt.Errorf("%s: name (the Auto Scaling group's name)", msgMissing))
	case len(c.Name) > 255:
		invalid("name", "longer than 255 characters")
	}
	if err := checkRegion(c.Region); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct{ key, path string }{{"config_file", c.ConfigFile}, {"credentials_file", c.CredentialsFile}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil {
			invalid(f.key, "%v", err)
		} else if st.IsDir() {
			invalid(f.key, "%s is a directory", f.path)
		}
	}
	if a := c.AssumeRole; a != nil {
		switch {
		case a.RoleARN == "":
			errs = append(errs, fmt.Errorf("%s: assume_role.role_arn", msgMissing))
		case !roleARNRE.MatchString(a.RoleARN):
			invalid("assume_role.role_arn", "%q (want arn:aws:iam::<account>:role/<name>)", a.RoleARN)
		}
		if n := len(a.ExternalID); n > 0 && (n < 2 || n > 1224 || !externalIDRE.MatchString(a.ExternalID)) {
			invalid("assume_role.external_id", "want 2 to 1224 characters of letters, digits and +=,.@:/-")
		}
		if !sessionNameRE.MatchString(a.SessionName) {
			invalid("assume_role.session_name", "%q (want 2 to 64 characters of letters, digits and +=,.@-)", a.SessionName)
		}
		if d := a.Duration.Duration; d != 0 && (d < 15*time.Minute || d > 12*time.Hour) {
			invalid("assume_role.duration", "%s (want between 15m and 12h)", d)
		}
	}
	switch c.RetryMode {
	case "standard", "adaptive":
	default:
		invalid("retry_mode", "%q (want standard or adaptive)", c.RetryMode)
	}
	if c.RetryMaxAttempts < 1 || c.RetryMaxAttempts > 20 {
		invalid("retry_max_attempts", "%d (want 1 to 20)", c.RetryMaxAttempts)
	}
	if d := c.APICallTimeout.Duration; d < time.Second || d > 10*time.Minute {
		invalid("api_call_timeout", "%s (want between 1s and 10m)", d)
	}
	errs = append(errs, c.validateRateLimits()...)
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.validateReadyWhen()...)
	return append(errs, c.validateSpot()...)
}
