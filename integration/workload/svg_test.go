package workload

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgElem is one element of a drawn chart, with the attributes the
// geometry checks read.
type svgElem struct {
	name  string
	attr  map[string]string
	text  string // character data (a <text>'s label, a <title>)
	title string // the <title> child
}

func (e svgElem) num(t *testing.T, k string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attr[k], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, k, e.attr[k], err)
	}
	return v
}

// parseSVG returns the root's viewBox size and every element below it.
func parseSVG(t *testing.T, svg string) (w, h float64, elems []svgElem) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var stack []int // indexes into elems; -1 for the root
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			if e.name == "svg" {
				if _, err := fmt.Sscanf(e.attr["viewBox"], "0 0 %g %g", &w, &h); err != nil {
					t.Fatalf("viewBox %q: %v", e.attr["viewBox"], err)
				}
				stack = append(stack, -1)
				continue
			}
			elems = append(elems, e)
			stack = append(stack, len(elems)-1)
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] >= 0 {
				elems[stack[len(stack)-1]].text += string(tok)
			}
		case xml.EndElement:
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if tok.Name.Local == "title" && len(stack) > 0 && stack[len(stack)-1] >= 0 {
				elems[stack[len(stack)-1]].title = elems[i].text
			}
		}
	}
	return w, h, elems
}

type rect struct{ x0, y0, x1, y1 float64 }

func (a rect) overlaps(b rect) bool { return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 }

func (a rect) inside(w, h float64) bool { return a.x0 >= 0 && a.y0 >= 0 && a.x1 <= w && a.y1 <= h }

// textBox estimates where a <text> is drawn: 0.6 em a character, ascent
// 0.8 em above the baseline, descent 0.2 em below (independent of the
// code's own estimate, and a little narrower, so it is not the same
// arithmetic checked against itself).
func textBox(t *testing.T, e svgElem) rect {
	t.Helper()
	x, y := e.num(t, "x"), e.num(t, "y")
	px := 11.0
	if e.attr["font-size"] != "" {
		px = e.num(t, "font-size")
	}
	w := 0.6 * px * float64(len([]rune(e.text)))
	switch e.attr["text-anchor"] {
	case "end":
		x -= w
	case "middle":
		x -= w / 2
	}
	return rect{x, y - 0.8*px, x + w, y + 0.2*px}
}

// histogramCase is what broke the old chart: both modes peak at 16 jobs in
// one bucket (the axis ticked to 15), their p50s are 2 s apart (labels on
// each other, under the bars), and the long outage wait puts p95 in the
// last bucket at the right edge (label cut to "p9").
func histogramCase() []Summary {
	mk := func(mode Mode, p50 time.Duration, tail []time.Duration) Summary {
		var waits []time.Duration
		for range 16 {
			waits = append(waits, 40*time.Second)
		}
		for range 10 {
			waits = append(waits, 10*time.Second)
		}
		waits = append(waits, tail...)
		sortDurations(waits)
		return Summary{Mode: mode, Waits: waits, P50: p50, P95: tail[len(tail)-1], MaxWait: tail[len(tail)-1]}
	}
	return []Summary{
		mk(Ours, 46*time.Second, []time.Duration{3*time.Minute + 33*time.Second}),
		mk(OfficialLike, 44*time.Second, []time.Duration{8*time.Minute + 26*time.Second}),
	}
}

func TestWaitHistogramGeometry(t *testing.T) {
	sums := histogramCase()
	w, h, elems := parseSVG(t, waitHistogramSVG(sums))

	// The y axis is labelled up to the tallest bar or beyond, every bar
	// lies inside the chart, and the last bucket is drawn whole.
	var bars, labels []rect
	var labelText []string
	topTick, top := 0.0, math.Inf(1)
	for _, e := range elems {
		switch {
		case e.name == "rect":
			r := rect{e.num(t, "x"), e.num(t, "y"), e.num(t, "x") + e.num(t, "width"), e.num(t, "y") + e.num(t, "height")}
			if !r.inside(w, h) {
				t.Errorf("bar %q at %+v leaves the %gx%g chart", e.title, r, w, h)
			}
			bars = append(bars, r)
			top = math.Min(top, r.y0)
		case e.name == "text" && e.attr["text-anchor"] == "end" && !strings.Contains(e.text, " "):
			if v, err := strconv.ParseFloat(e.text, 64); err == nil {
				topTick = math.Max(topTick, v)
			}
		case e.name == "text" && (strings.Contains(e.text, "p50") || strings.Contains(e.text, "p95")):
			labels = append(labels, textBox(t, e))
			labelText = append(labelText, e.text)
		}
	}
	axisTop := math.Inf(1) // the y axis: the vertical line at the left
	for _, e := range elems {
		if e.name == "line" && e.attr["x1"] == e.attr["x2"] && e.attr["stroke"] == "#444" && e.num(t, "y2")-e.num(t, "y1") > 100 {
			axisTop = math.Min(axisTop, e.num(t, "y1"))
		}
	}
	if math.IsInf(axisTop, 1) {
		t.Fatal("no y axis drawn")
	}
	if top < axisTop {
		t.Errorf("the tallest bar (top y %g) rises above the y axis (top y %g)", top, axisTop)
	}
	if topTick < 16 {
		t.Errorf("the y axis ends at %g below the tallest bar (16 jobs)", topTick)
	}
	if len(bars) == 0 || len(labels) != 4 {
		t.Fatalf("%d bars, %d quantile labels (want 4): %q", len(bars), len(labels), labelText)
	}
	for _, want := range []string{"ours p50 0:46", "ours p95 3:33", "official-like p50 0:44", "official-like p95 8:26"} {
		if !strings.Contains(strings.Join(labelText, "|"), want) {
			t.Errorf("no label %q in %q", want, labelText)
		}
	}
	// Each label whole inside the chart, apart from every other label and
	// from every bar.
	for i, l := range labels {
		if !l.inside(w, h) {
			t.Errorf("label %q at %+v is cut by the %gx%g chart", labelText[i], l, w, h)
		}
		for j := i + 1; j < len(labels); j++ {
			if l.overlaps(labels[j]) {
				t.Errorf("labels %q and %q overlap", labelText[i], labelText[j])
			}
		}
		for _, b := range bars {
			if l.overlaps(b) {
				t.Errorf("label %q lies on a bar", labelText[i])
				break
			}
		}
	}
}

// Two notices seconds apart draw one marker: it carries their count and
// names both instances. Every label stays inside the chart.
func TestTimelineCountsNoticesTooCloseToDrawApart(t *testing.T) {
	sample := func(at time.Duration) Event {
		return Event{T: at, Kind: Sampled, Sample: &Sample{Instances: map[string]int{"spot/running": 3}}}
	}
	events := []Event{
		sample(0), sample(5 * time.Minute),
		{T: 2*time.Minute + 10*time.Second, Kind: Notice, Instance: "i-0aaa"},
		{T: 2*time.Minute + 20*time.Second, Kind: Notice, Instance: "i-0bbb"},
		{T: 4 * time.Minute, Kind: Notice, Instance: "i-0ccc"},
		sample(10 * time.Minute),
		{T: 3 * time.Minute, Kind: Phase, Detail: "spot capacity outage begins"},
		{T: 19*time.Minute + 50*time.Second, Kind: Phase, Detail: "spot capacity back"}, // at the right edge
	}
	w, h, elems := parseSVG(t, timelineSVG(events, 20*time.Minute, 3))
	markers, counts := 0, map[string]bool{}
	for _, e := range elems {
		if e.name == "path" && e.attr["fill"] == noticeColor && strings.HasPrefix(e.title, "interruption notice") {
			markers++
			for _, id := range []string{"i-0aaa", "i-0bbb", "i-0ccc"} {
				if strings.Contains(e.title, id) {
					counts[id] = true
				}
			}
		}
		if e.name == "text" && e.attr["transform"] == "" { // the rotated axis title is checked by eye
			if b := textBox(t, e); !b.inside(w, h) {
				t.Errorf("text %q at %+v is cut by the %gx%g chart", e.text, b, w, h)
			}
		}
	}
	if markers != 2 || len(counts) != 3 {
		t.Errorf("%d markers naming %v, want 2 naming i-0aaa, i-0bbb (one marker) and i-0ccc", markers, counts)
	}
	found := false
	for _, e := range elems {
		if e.name == "text" && strings.TrimSpace(e.text) == "2" && e.attr["fill"] == noticeColor {
			found = true
		}
	}
	if !found {
		t.Error("the marker of two notices shows no count 2")
	}
}

// One colour, one meaning: no mode colour (histogram, headings) is a
// colour of the timeline (its states, the queue line, the notices).
func TestReportColoursMeanOneThing(t *testing.T) {
	timeline := map[string]string{queueColor: "jobs waiting", noticeColor: "interruption notice"}
	for _, s := range timelineSeries {
		if other, dup := timeline[s.color]; dup && other != "interruption notice" {
			t.Errorf("%s is both %q and %q", s.color, other, s.label)
		}
		timeline[s.color] = s.label
	}
	for i, m := range []Mode{Ours, OfficialLike} {
		if meaning, dup := timeline[modeColor(i)]; dup {
			t.Errorf("%s means mode %s in the histogram and %q in the timeline", modeColor(i), m, meaning)
		}
	}
	if modeColor(0) == modeColor(1) {
		t.Error("both modes have one colour")
	}
}

// Equal quantiles of the two modes draw two lines, one per colour, side by
// side: a line on top of the other would hide one mode.
func TestWaitHistogramEqualQuantilesShowBothModes(t *testing.T) {
	sums := histogramCase()
	sums[1].P50 = sums[0].P50
	_, _, elems := parseSVG(t, waitHistogramSVG(sums))
	at := map[string]string{} // x1 → stroke of the dashed lines
	n := 0
	for _, e := range elems {
		if e.name != "line" || e.attr["stroke-dasharray"] == "" || e.attr["stroke"] == "#000" {
			continue
		}
		n++
		if other, ok := at[e.attr["x1"]]; ok && other != e.attr["stroke"] {
			t.Errorf("the %s and %s quantile lines are drawn on top of each other at x=%s", other, e.attr["stroke"], e.attr["x1"])
		}
		at[e.attr["x1"]] = e.attr["stroke"]
	}
	if n != 4 {
		t.Errorf("%d quantile lines, want 4", n)
	}
}
