package workload

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"
)

// Hand-written SVG charts for the HTML report: no scripts, no libraries.

// One colour, one meaning, across the whole report: the timeline's states
// (blue on-demand, green spot, red interruption notice, amber booting,
// light grey terminating, black jobs waiting) and, in the wait histogram
// and the headings, the modes (purple ours, slate official-like), which
// no state uses.

// series of the timeline, bottom to top: "market/state" keys of Sample.Instances.
var timelineSeries = []struct{ key, label, color string }{
	{"on-demand/running", "on-demand running", "#1f6feb"},
	{"spot/running", "spot running", "#2da44e"},
	{"spot/noticed", "spot under interruption notice", noticeColor},
	{"creating", "booting (any market)", "#d4a72c"},
	{"terminating", "terminating (any market)", "#c4ccd4"},
}

const (
	queueColor  = "#1f2328"
	noticeColor = "#e5534b"
)

// modeColors by mode position (ours first); none is a timeline colour.
var modeColors = []string{"#8250df", "#57606a", "#953800", "#0a3069"}

func modeColor(i int) string { return modeColors[i%len(modeColors)] }

func seriesValue(s *Sample, key string) int {
	switch key {
	case "creating", "terminating":
		return s.Instances["spot/"+key] + s.Instances["on-demand/"+key]
	}
	return s.Instances[key]
}

type chartBox struct {
	w, h, left, right, top, bottom float64
	xMax                           time.Duration
	yMax                           float64
}

func (c chartBox) x(t time.Duration) float64 {
	return c.left + (c.w-c.left-c.right)*float64(t)/float64(max(c.xMax, time.Second))
}

func (c chartBox) y(v float64) float64 {
	return c.h - c.bottom - (c.h-c.top-c.bottom)*v/math.Max(c.yMax, 1)
}

// niceMax rounds v up to a whole axis step, so the top tick is at or above
// every value drawn.
func niceMax(v float64, n int) float64 {
	v = math.Max(v, 1)
	step := niceStep(v, n)
	return step * math.Ceil(v/step-1e-9)
}

// textWidth estimates the drawn width of s in a sans-serif font of size
// px (about 0.62 em a character, digits and lower case), for layout.
func textWidth(s string, px float64) float64 {
	return 0.62 * px * float64(len([]rune(s)))
}

// niceStep picks an axis step giving at most about n ticks.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000} {
		if s >= raw {
			return s
		}
	}
	return math.Ceil(raw)
}

func (c chartBox) axes(b *strings.Builder, yLabel string) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`, c.left, c.y(0), c.w-c.right, c.y(0))
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`, c.left, c.top, c.left, c.y(0))
	step := niceStep(c.yMax, 5)
	for v := 0.0; v <= c.yMax+0.001; v += step {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, c.left, c.y(v), c.w-c.right, c.y(v))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="11">%g</text>`, c.left-4, c.y(v)+4, v)
	}
	minutes := c.xMax.Minutes()
	mstep := niceStep(minutes, 12)
	for m := 0.0; m <= minutes+0.001; m += mstep {
		x := c.x(time.Duration(m * float64(time.Minute)))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`, x, c.y(0), x, c.y(0)+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%gm</text>`, x, c.y(0)+16, m)
	}
	fmt.Fprintf(b, `<text x="12" y="%.1f" font-size="11" transform="rotate(-90 12 %.1f)" text-anchor="middle">%s</text>`,
		(c.top+c.y(0))/2, (c.top+c.y(0))/2, html.EscapeString(yLabel))
}

// timelineSVG stacks instances by state and market (as AWS bills them)
// and draws the jobs waiting for a slot as a line on the same scale.
func timelineSVG(events []Event, xMax time.Duration, yMax float64) string {
	var samples []Event
	var notices, phases []Event
	for _, e := range events {
		switch e.Kind {
		case Sampled:
			samples = append(samples, e)
		case Notice:
			notices = append(notices, e)
		case Phase:
			phases = append(phases, e)
		}
	}
	c := chartBox{w: 1100, h: 245, left: 44, right: 16, top: 20, bottom: 28, xMax: xMax, yMax: niceMax(yMax, 5)}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" style="max-width:100%%;height:auto">`, c.w, c.h, c.w, c.h)
	c.axes(&b, "instances / jobs waiting")
	if len(samples) > 0 {
		base := make([]float64, len(samples))
		for _, s := range timelineSeries {
			top := make([]float64, len(samples))
			for i, e := range samples {
				top[i] = base[i] + float64(seriesValue(e.Sample, s.key))
			}
			fmt.Fprintf(&b, `<path d="%s" fill="%s" fill-opacity="0.85" stroke="none"><title>%s</title></path>`,
				stepArea(c, samples, base, top), s.color, html.EscapeString(s.label))
			base = top
		}
		var line strings.Builder
		for i, e := range samples {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			} else {
				fmt.Fprintf(&line, "L%.1f,%.1f ", c.x(e.T), c.y(float64(samples[i-1].Sample.Queued)))
			}
			fmt.Fprintf(&line, "%s%.1f,%.1f ", cmd, c.x(e.T), c.y(float64(e.Sample.Queued)))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5"><title>jobs waiting for a slot</title></path>`, line.String(), queueColor)
	}
	for _, p := range phases {
		x := c.x(p.T)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="4 3"/>`, x, c.top-16, x, c.y(0))
		// Above the plot: inside it the label would sit on the areas and the queue line.
		tx, anchor := x+3, "start"
		if tx+textWidth(p.Detail, 11) > c.w {
			tx, anchor = x-3, "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="%s">%s</text>`, tx, c.top-5, anchor, html.EscapeString(p.Detail))
	}
	for _, g := range groupNotices(c, notices) {
		x := c.x(g[0].T)
		var title []string
		for _, n := range g {
			title = append(title, fmt.Sprintf("%s at %s", n.Instance, clock(n.T)))
		}
		fmt.Fprintf(&b, `<path d="M%.1f,%.1f l-5,-9 h10 z" fill="%s" stroke="#fff"><title>interruption notice: %s</title></path>`,
			x, c.y(0), noticeColor, html.EscapeString(strings.Join(title, ", ")))
		if len(g) > 1 {
			// The count above the marker: notices this close draw as one ▼.
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" font-weight="bold" text-anchor="middle" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">%d</text>`,
				x, c.y(0)-11, noticeColor, len(g))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// groupNotices merges notices whose markers would overlap (closer than a
// marker's width) into one group, drawn as one ▼ with a count.
func groupNotices(c chartBox, notices []Event) [][]Event {
	const markerWidth = 10
	sorted := append([]Event(nil), notices...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].T < sorted[j].T })
	var groups [][]Event
	for _, n := range sorted {
		if k := len(groups) - 1; k >= 0 && c.x(n.T)-c.x(groups[k][0].T) < markerWidth {
			groups[k] = append(groups[k], n)
			continue
		}
		groups = append(groups, []Event{n})
	}
	return groups
}

// stepArea is a closed path between two step lines (each sample holds
// until the next).
func stepArea(c chartBox, samples []Event, low, high []float64) string {
	var b strings.Builder
	for i, e := range samples {
		if i == 0 {
			fmt.Fprintf(&b, "M%.1f,%.1f ", c.x(e.T), c.y(high[i]))
			continue
		}
		fmt.Fprintf(&b, "L%.1f,%.1f L%.1f,%.1f ", c.x(e.T), c.y(high[i-1]), c.x(e.T), c.y(high[i]))
	}
	for i := len(samples) - 1; i >= 0; i-- {
		e := samples[i]
		if i < len(samples)-1 {
			fmt.Fprintf(&b, "L%.1f,%.1f ", c.x(samples[i+1].T), c.y(low[i]))
		}
		fmt.Fprintf(&b, "L%.1f,%.1f ", c.x(e.T), c.y(low[i]))
	}
	b.WriteString("Z")
	return b.String()
}

// quantileLabel is one p50/p95 marker of the wait histogram.
type quantileLabel struct {
	text, color string
	x           float64 // of the dashed line
	row         int     // label row above the plot, 0 = top
	anchorEnd   bool    // text ends left of the line (near the right edge)
}

// box is the label's text extent (x0, x1) with a gap either side.
func (l quantileLabel) box(px float64) (x0, x1 float64) {
	w := textWidth(l.text, px)
	if l.anchorEnd {
		return l.x - 3 - w - 4, l.x + 4
	}
	return l.x - 4, l.x + 3 + w + 4
}

// layoutLabels puts each label right of its line, or left of it where it
// would leave the chart, in the first row where it overlaps no other label;
// it returns the number of rows.
func layoutLabels(labels []quantileLabel, px, right float64) int {
	var placed [][][2]float64 // per row, the boxes in it
	for i := range labels {
		l := &labels[i]
		_, x1 := l.box(px)
		l.anchorEnd = x1 > right
		x0, x1 := l.box(px)
		row := 0
		for ; row < len(placed); row++ {
			free := true
			for _, b := range placed[row] {
				if x0 < b[1] && b[0] < x1 {
					free = false
					break
				}
			}
			if free {
				break
			}
		}
		if row == len(placed) {
			placed = append(placed, nil)
		}
		placed[row] = append(placed[row], [2]float64{x0, x1})
		l.row = row
	}
	return len(placed)
}

// waitHistogramSVG groups job waits in 30-second buckets, one bar per mode;
// the p50 and p95 of each mode are dashed lines labelled above the plot,
// where no bar reaches.
func waitHistogramSVG(sums []Summary) string {
	const bucket = 30 * time.Second
	const labelPx, rowH = 11.0, 14.0
	longest := time.Duration(0)
	for _, s := range sums {
		longest = max(longest, s.MaxWait, s.P95)
	}
	n := int(longest/bucket) + 1
	counts := make([][]int, len(sums))
	peak := 1
	for i, s := range sums {
		counts[i] = make([]int, n)
		for _, w := range s.Waits {
			k := min(int(w/bucket), n-1)
			counts[i][k]++
			peak = max(peak, counts[i][k])
		}
	}
	c := chartBox{w: 600, h: 330, left: 44, right: 16, bottom: 40, xMax: time.Duration(n) * bucket, yMax: niceMax(float64(peak), 5)}
	var labels []quantileLabel
	for i, s := range sums {
		for _, q := range []struct {
			name string
			v    time.Duration
		}{{"p50", s.P50}, {"p95", s.P95}} {
			// Each mode's lines 2.5 px apart: equal quantiles still show both colours.
			x := c.x(q.v) + 2.5*(float64(i)-float64(len(sums)-1)/2)
			labels = append(labels, quantileLabel{text: fmt.Sprintf("%s %s %s", s.Mode, q.name, clock(q.v)), color: modeColor(i), x: x})
		}
	}
	rows := layoutLabels(labels, labelPx, c.w-2)
	const labelTop = 6.0
	c.top = labelTop + float64(rows)*rowH + 8
	c.h += c.top - 10 // the plot keeps its height
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" style="max-width:100%%;height:auto">`, c.w, c.h, c.w, c.h)
	c.axes(&b, "jobs")
	slot := (c.x(bucket) - c.x(0)) / float64(len(sums)+1)
	for i := range sums {
		for k, v := range counts[i] {
			if v == 0 {
				continue
			}
			x := c.x(time.Duration(k)*bucket) + slot*(float64(i)+0.5)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d jobs waited %s–%s</title></rect>`,
				x, c.y(float64(v)), slot, c.y(0)-c.y(float64(v)), modeColor(i),
				html.EscapeString(string(sums[i].Mode)), v, clock(time.Duration(k)*bucket), clock(time.Duration(k+1)*bucket))
		}
	}
	for _, l := range labels {
		// The line starts below the label rows: it never crosses a label.
		baseline := labelTop + float64(l.row)*rowH + labelPx
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="5 3"/>`,
			l.x, c.top-4, l.x, c.y(0), l.color)
		x, anchor := l.x+3, "start"
		if l.anchorEnd {
			x, anchor = l.x-3, "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="%g" text-anchor="%s" fill="%s">%s</text>`,
			x, baseline, labelPx, anchor, l.color, html.EscapeString(l.text))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">wait from queued to slot acquired (30 s buckets)</text>`, (c.left+c.w)/2, c.h-4)
	b.WriteString(`</svg>`)
	return b.String()
}
