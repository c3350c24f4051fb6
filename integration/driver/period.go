package driver

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// activePolicy is the last policy whose periods match t; the zero policy
// when none does [I: the runner's behaviour with no match is unknown].
func activePolicy(policies []Policy, t time.Time) Policy {
	var active Policy
	for _, p := range policies {
		if len(p.Periods) == 0 {
			active = p
			continue
		}
		for _, period := range p.Periods {
			if ok, _ := cronMatch(period, t); ok {
				active = p
				break
			}
		}
	}
	return active
}

// ValidatePeriods reports the first malformed cron expression.
func ValidatePeriods(policies []Policy) error {
	for _, p := range policies {
		for _, period := range p.Periods {
			if _, err := cronMatch(period, time.Time{}); err != nil {
				return err
			}
		}
	}
	return nil
}

var dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// cronMatch matches the five-field subset the runner's docs use: *, n,
// a-b, lists, */n and a-b/n; day names in the weekday field.
func cronMatch(expr string, t time.Time) (bool, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return false, fmt.Errorf("period %q: want 5 cron fields (min hour dom month dow)", expr)
	}
	t = t.UTC()
	values := []int{t.Minute(), t.Hour(), t.Day(), int(t.Month()), int(t.Weekday())}
	bounds := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	match := true
	for i, f := range fields {
		ok, err := fieldMatch(f, values[i], bounds[i][0], bounds[i][1])
		if err != nil {
			return false, fmt.Errorf("period %q: %w", expr, err)
		}
		match = match && ok
	}
	return match, nil
}

func fieldMatch(field string, v, lo, hi int) (bool, error) {
	for _, part := range strings.Split(field, ",") {
		step := 1
		if base, s, ok := strings.Cut(part, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return false, fmt.Errorf("bad step %q", part)
			}
			part, step = base, n
		}
		from, to := lo, hi
		if part != "*" {
			a, b, isRange := strings.Cut(part, "-")
			var err error
			if from, err = cronValue(a); err != nil {
				return false, err
			}
			to = from
			if isRange {
				if to, err = cronValue(b); err != nil {
					return false, err
				}
			}
		}
		if from < lo || to > hi || from > to {
			return false, fmt.Errorf("%q out of range %d-%d", part, lo, hi)
		}
		if v >= from && v <= to && (v-from)%step == 0 {
			return true, nil
		}
	}
	return false, nil
}

func cronValue(s string) (int, error) {
	if d, ok := dayNames[strings.ToLower(s)]; ok {
		return d, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return n, nil
}
