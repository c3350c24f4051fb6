package workload

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Hand-written SVG charts for the HTML report: no scripts, no libraries.

// series of the timeline, bottom to top: "market/state" keys of Sample.Instances.
var timelineSeries = []struct{ key, label, color string }{
	{"on-demand/running", "on-demand running", "#1f6feb"},
	{"spot/running", "spot running", "#2da44e"},
	{"spot/noticed", "spot under interruption notice", "#e5534b"},
	{"creating", "booting (any market)", "#d4a72c"},
	{"terminating", "terminating (any market)", "#8c959f"},
}

const queueColor = "#6e40c9"

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
	c := chartBox{w: 1100, h: 235, left: 44, right: 12, top: 10, bottom: 28, xMax: xMax, yMax: yMax}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif">`, c.w, c.h, c.w, c.h)
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
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="4 3"/>`, x, c.top, x, c.y(0))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11">%s</text>`, x+3, c.top+10, html.EscapeString(p.Detail))
	}
	for _, n := range notices {
		x := c.x(n.T)
		fmt.Fprintf(&b, `<path d="M%.1f,%.1f l-5,-9 h10 z" fill="#e5534b" stroke="#fff"><title>interruption notice %s at %s</title></path>`,
			x, c.y(0), html.EscapeString(n.Instance), clock(n.T))
	}
	b.WriteString(`</svg>`)
	return b.String()
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

var modeColors = []string{"#2da44e", "#cf222e", "#1f6feb", "#d4a72c"}

// waitHistogramSVG groups job waits in 30-second buckets, one bar per mode.
func waitHistogramSVG(sums []Summary) string {
	const bucket = 30 * time.Second
	longest := time.Duration(0)
	for _, s := range sums {
		longest = max(longest, s.MaxWait)
	}
	n := int(longest/bucket) + 1
	counts := make([][]int, len(sums))
	peak := 1
	for i, s := range sums {
		counts[i] = make([]int, n)
		for _, w := range s.Waits {
			counts[i][int(w/bucket)]++
			peak = max(peak, counts[i][int(w/bucket)])
		}
	}
	c := chartBox{w: 600, h: 330, left: 44, right: 12, top: 10, bottom: 40, xMax: time.Duration(n) * bucket, yMax: float64(peak)}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif">`, c.w, c.h, c.w, c.h)
	c.axes(&b, "jobs")
	slot := (c.x(bucket) - c.x(0)) / float64(len(sums)+1)
	for i := range sums {
		for k, v := range counts[i] {
			if v == 0 {
				continue
			}
			x := c.x(time.Duration(k)*bucket) + slot*(float64(i)+0.5)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d jobs waited %s–%s</title></rect>`,
				x, c.y(float64(v)), slot, c.y(0)-c.y(float64(v)), modeColors[i%len(modeColors)],
				html.EscapeString(string(sums[i].Mode)), v, clock(time.Duration(k)*bucket), clock(time.Duration(k+1)*bucket))
		}
	}
	for i, s := range sums {
		for k, q := range []struct {
			name string
			v    time.Duration
		}{{"p50", s.P50}, {"p95", s.P95}} {
			x := c.x(q.v)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="5 3"/>`,
				x, c.top, x, c.y(0), modeColors[i%len(modeColors)])
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s">%s %s</text>`,
				x+3, c.top+12+float64(2*i+k)*13, modeColors[i%len(modeColors)], q.name, clock(q.v))
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">wait from queued to slot acquired (30 s buckets)</text>`, (c.left+c.w)/2, c.h-4)
	b.WriteString(`</svg>`)
	return b.String()
}
