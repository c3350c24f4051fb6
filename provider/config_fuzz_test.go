package provider

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeConfig: any plugin_config bytes decode, default and validate
// without a panic, and every problem is one of the stable, key-naming
// messages the README's troubleshooting quotes.
func FuzzDecodeConfig(f *testing.F) {
	for _, seed := range []string{
		`null`, `{}`, `[]`, `"runners"`, `5`, ``, `{`, `{"name":"runners"}`, `{"Name":"runners"}`,
		`{"name":"g","regoin":"eu-west-1"}`, `{"name":5,"retry_mode":"fast","retry_max_attempts":"3"}`,
		`{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r","duration":"1h","extrnal_id":1}}`,
		`{"name":"g","assume_role":"arn"}`, `{"name":"g","assume_role":{"duration":3600}}`,
		`{"name":"g","on_demand_fallback":{"after":"2m","hold":"10m"}}`, `{"name":"g","on_demand_fallback":{"after":-1}}`,
		`{"name":"g","fleet":{"instance_types":["t3.micro",5],"on_demand_base_capacity":-1,"capacity_rebalance":"yes"}}`,
		`{"name":"g","interruption_queue_url":"https://sqs.eu-central-1.amazonaws.com/123456789012/q","rebalance":"drain"}`,
		`{"name":"g","interruption_queue_url":"::not a url"}`,
		`{"name":"g","api_rate_limits":{"autoscaling":1.5,"ec2":-1},"api_rate_bursts":{"ec2":"x"}}`,
		`{"name":"` + strings.Repeat("é", 300) + `"}`, `{"name":"g","name":"h"}`, `{"name":"g","config_file":"/nonexistent"}`,
		`{"name":"g","region":"eu-central-1","retry_max_attempts":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	prefixes := []string{msgUnknownKey, msgMissing, msgInvalid, "plugin config must be a table of keys"}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &InstanceGroup{}
		if err := json.Unmarshal(data, g); err != nil && json.Valid(data) {
			t.Fatalf("UnmarshalJSON failed on valid JSON: %v", err)
		}
		c, errs := decodeConfig(data)
		c.applyDefaults()
		errs = append(errs, c.validate()...)
		for _, err := range errs {
			if err == nil {
				t.Fatal("nil problem reported")
			}
			for _, e := range flatten(err) {
				msg := e.Error()
				ok := false
				for _, p := range prefixes {
					ok = ok || strings.HasPrefix(msg, p)
				}
				if !ok {
					t.Fatalf("problem without a stable prefix: %q", msg)
				}
			}
		}
	})
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
