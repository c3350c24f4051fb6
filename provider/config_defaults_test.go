package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/readme"
)

// flatConfig maps each key path of c ("fleet.instance_types") to its value
// as plugin_config JSON writes it.
func flatConfig(t *testing.T, c Config) map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = v
		}
	}
	walk("", m)
	return flat
}

// everyTable is a config with every optional table present and no key set,
// so every default applies.
const everyTable = `{"name":"g","assume_role":{"role_arn":"arn:aws:iam::123456789012:role/r"},"on_demand_fallback":{},"fleet":{}}`

// The defaults table is complete: defaulting changes exactly the keys it
// lists, so no default hides elsewhere and no entry is dead.
func TestConfigDefaultsTableIsEveryDefault(t *testing.T) {
	c, errs := decodeConfig([]byte(everyTable))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	before := flatConfig(t, c)
	c.applyDefaults()
	after := flatConfig(t, c)
	var changed []string
	for k, v := range after {
		if fmt.Sprint(before[k]) != fmt.Sprint(v) {
			changed = append(changed, k)
		}
	}
	var listed []string
	for _, d := range configDefaults {
		listed = append(listed, d.key)
	}
	sort.Strings(changed)
	sort.Strings(listed)
	if !slices.Equal(changed, listed) {
		t.Errorf("defaulting changes %v\nthe table lists %v", changed, listed)
	}
}

// readmeConfigDefaults reads the default column of the README's
// plugin_config reference, by key.
func readmeConfigDefaults(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(readme.Path())
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "<!-- config-table -->")
	if !ok {
		t.Fatal("README has no <!-- config-table --> marker")
	}
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "/"), "|") // `a` \| `b` is one cell
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue // header and rule
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[3])
	}
	return rows
}

// The README's config reference shows the defaults the code applies: each
// default of the table with its value, and no other key claims one (a
// dash, or a default that is the SDK's or STS's, not the plugin's).
func TestREADMEConfigDefaultsMatchTheTable(t *testing.T) {
	rows := readmeConfigDefaults(t)
	c, _ := decodeConfig([]byte(everyTable))
	c.applyDefaults()
	values := flatConfig(t, c)
	inTable := map[string]bool{}
	for _, d := range configDefaults {
		inTable[d.key] = true
		cell, ok := rows[d.key]
		if !ok {
			t.Errorf("README config reference has no row for %s (default %v)", d.key, values[d.key])
			continue
		}
		shown := strings.Trim(strings.Fields(cell + " ")[0], "`")
		want := fmt.Sprint(values[d.key])
		if wd, err := time.ParseDuration(want); err == nil {
			if sd, err := time.ParseDuration(shown); err != nil || sd != wd {
				t.Errorf("README shows default %q for %s, the code applies %s", cell, d.key, wd)
			}
			continue
		}
		if shown != want {
			t.Errorf("README shows default %q for %s, the code applies %s", cell, d.key, want)
		}
	}
	for key, cell := range rows {
		if inTable[key] {
			continue
		}
		if !strings.HasPrefix(cell, "—") && !strings.HasPrefix(cell, "SDK default") && !strings.HasPrefix(cell, "STS default") && !strings.HasPrefix(cell, "`AWS_REGION`") {
			t.Errorf("README shows default %q for %s, but the code has no default for it (add it to configDefaults, or write — / SDK default)", cell, key)
		}
		if _, known := values[key]; !known {
			t.Errorf("README config reference lists %s, which is no plugin_config key", key)
		}
	}
}
