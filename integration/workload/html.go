package workload

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteHTML writes the self-contained report: the summary with ratios,
// a timeline per mode, the wait distribution, API calls and instances.
func WriteHTML(w io.Writer, sc Scenario, results []*Result, sums []Summary, prices Prices) error {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>ec2spot workload report</title><style>
body{font-family:sans-serif;margin:20px;max-width:1140px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 6px} p{margin:4px 0}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:right}
td:first-child,th:first-child{text-align:left} .muted{color:#656d76;font-size:12px}
.legend span{display:inline-block;margin-right:14px;font-size:12px} .legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}
</style></head><body>`)
	fmt.Fprintf(&b, `<h1>Scenario “%s”: %s</h1>`, esc(sc.Name), esc(sc.Description))
	fmt.Fprintf(&b, `<p>%s. Group %s: %d on-demand base, spot above, %s. Runner: capacity_per_instance %d, max_use_count %d, max_instances %d, %s.</p>`,
		esc(sc.Workload.Describe()), esc(sc.Group.Name), sc.Group.OnDemandBase, esc(strings.Join(sc.Group.InstanceTypes, ", ")),
		sc.Driver.CapacityPerInstance, sc.Driver.MaxUseCount, sc.Driver.MaxInstances, esc(policyText(sc)))
	fmt.Fprintf(&b, `<p class="muted">Simulated AWS (boot %s, notice %s), clock ×%g; every mode drives its own simulated account through the real fleeting provisioner; all times are simulated unless marked real.</p>`,
		orDefault(sc.BootDelay, "30s"), orDefault(sc.NoticePeriod, "2m"), sc.Speed)

	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start"><div style="flex:0 1 500px;min-width:0"><h2>Summary</h2><table><tr><th></th>`)
	for i, s := range sums {
		fmt.Fprintf(&b, `<th style="color:%s">%s</th>`, modeColor(i), esc(string(s.Mode)))
	}
	if len(sums) > 1 {
		fmt.Fprintf(&b, `<th>ratio %s ÷ %s</th>`, esc(string(sums[0].Mode)), esc(string(sums[len(sums)-1].Mode)))
	}
	b.WriteString(`</tr>`)
	for _, r := range Rows(sums) {
		fmt.Fprintf(&b, `<tr><td>%s</td>`, strings.ReplaceAll(esc(r.Name), "  ", "&emsp;"))
		for _, v := range r.Values {
			fmt.Fprintf(&b, `<td>%s</td>`, esc(v))
		}
		if len(sums) > 1 {
			fmt.Fprintf(&b, `<td>%s</td>`, esc(r.Ratio))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table><p class="muted">Wait = queued until a slot is acquired. Cost = instance-hours as AWS bills them (sampled) × the price table. Calls per job = every AWS API call of the run ÷ jobs. Plugin call times are real: on this clock each real second stalls fleeting's provisioner loop for ` + fmt.Sprintf("%g", sc.Speed) + ` simulated seconds.</p></div><div style="flex:1 1 560px;min-width:0"><h2>Job wait distribution</h2><p class="legend">`)
	for i, s := range sums {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, modeColor(i), esc(string(s.Mode)))
	}
	b.WriteString(`</p>` + waitHistogramSVG(sums) + `</div></div>`)

	var xMax time.Duration
	yMax := 1.0
	for _, r := range results {
		xMax = max(xMax, r.End)
		for _, e := range r.Events {
			if e.Sample == nil {
				continue
			}
			total := 0
			for _, n := range e.Sample.Instances {
				total += n
			}
			yMax = max(yMax, float64(total), float64(e.Sample.Queued))
		}
	}
	b.WriteString(`<h2>Timeline: instances by state and market, and jobs waiting</h2><p class="legend">`)
	for _, s := range timelineSeries {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, s.color, esc(s.label))
	}
	fmt.Fprintf(&b, `<span><i style="background:%s;height:3px;vertical-align:3px"></i>jobs waiting for a slot</span><span><b style="color:%s">▼</b> interruption notice (a number above ▼ counts notices too close to draw apart)</span></p>`, queueColor, noticeColor)
	for i, r := range results {
		fmt.Fprintf(&b, `<p><b style="color:%s">%s</b></p>%s`, modeColor(i), esc(string(r.Mode)), timelineSVG(r.Events, xMax, yMax))
	}

	b.WriteString(`<h2>AWS API calls</h2><table><tr><th>call</th>`)
	for _, r := range results {
		fmt.Fprintf(&b, `<th>%s</th>`, esc(string(r.Mode)))
	}
	b.WriteString(`</tr>`)
	for _, k := range callNames(results) {
		fmt.Fprintf(&b, `<tr><td>%s</td>`, esc(k))
		for _, r := range results {
			fmt.Fprintf(&b, `<td>%d</td>`, r.Calls[k])
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table>`)

	b.WriteString(`<h2>Instances</h2>`)
	for _, r := range results {
		lives := Lives(r.Events)
		fmt.Fprintf(&b, `<details><summary>%s: %d instances</summary><table><tr><th>instance</th><th>market</th><th>type</th><th>AZ</th><th>jobs</th><th>failed</th><th>states</th></tr>`,
			esc(string(r.Mode)), len(lives))
		for _, l := range lives {
			fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td style="text-align:left">%s</td></tr>`,
				esc(l.ID), esc(l.Market), esc(l.Type), esc(l.AZ), l.Jobs, l.Failed, esc(l.History()))
		}
		b.WriteString(`</table></details>`)
	}
	b.WriteString(`<h2>Prices used (USD per instance-hour)</h2><p class="muted">`)
	b.WriteString(esc(pricesText(prices, results)))
	b.WriteString(`</p></body></html>`)
	_, err := io.WriteString(w, b.String())
	return err
}

func policyText(sc Scenario) string {
	parts := make([]string, 0, len(sc.Driver.Policies))
	for _, p := range sc.Driver.Policies {
		s := fmt.Sprintf("idle_count %d, idle_time %s", p.IdleCount, p.IdleTime)
		if p.ScaleFactor > 0 {
			s += fmt.Sprintf(", scale_factor %g (limit %d)", p.ScaleFactor, p.ScaleFactorLimit)
		}
		if len(p.Periods) > 0 {
			s += " in " + strings.Join(p.Periods, "; ")
		}
		s += fmt.Sprintf(", preemptive %v", p.Preemptive())
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no policy"
	}
	return "policy " + strings.Join(parts, " | ")
}

func orDefault(d time.Duration, def string) string {
	if d <= 0 {
		return def
	}
	return d.String()
}

func callNames(results []*Result) []string {
	set := map[string]bool{}
	for _, r := range results {
		for k := range r.Calls {
			set[k] = true
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// pricesText lists the prices of the types the runs used.
func pricesText(p Prices, results []*Result) string {
	used := map[string]bool{}
	for _, r := range results {
		for _, e := range r.Events {
			if e.Type != "" {
				used[e.Type+"/"+e.Market] = true
			}
		}
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		typ, market, _ := strings.Cut(k, "/")
		parts = append(parts, fmt.Sprintf("%s %s $%.4f", typ, market, p.Price(typ, market)))
	}
	return strings.Join(parts, " · ")
}
