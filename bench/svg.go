package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
)

// The chart: one panel per unit, each with its own logarithmic axis, and
// in it a group of horizontal bars per workload, one per series: hsp (or
// hsp A and hsp B) and JS.

// chartSeries is one bar of every workload: a build of hsp, or JS.
type chartSeries struct {
	Class  string // the CSS class of its bars
	Legend string
	Width  float64 // of its legend entry, in pixels
	value  func(outcome) *summary
}

// chartSeriesOf lists the series of a run of l.
func chartSeriesOf(l lineup) []chartSeries {
	a := func(o outcome) *summary { return o.HSP }
	ss := []chartSeries{{"hsp", "hsp (Go daemon, via package rpc)", 230, a}}
	if l.ab() {
		ss = []chartSeries{
			{"hsp", "hsp A (Go daemon, via package rpc)", 240, a},
			{"hspb", "hsp B (-hsp-b's binary)", 180, func(o outcome) *summary { return o.bFigures().HSP }},
		}
	}
	if l.JS {
		ss = append(ss, chartSeries{"js", "JS Hyperspace 3.19 (via @hyperspace/client)", 330, func(o outcome) *summary { return o.JS }})
	}
	return ss
}

// bFigures are build B's figures, or missing ones.
func (o outcome) bFigures() figures {
	if o.B == nil {
		return figures{Missing: true}
	}
	return *o.B
}

// chartBar is one workload of the chart.
type chartBar struct {
	Metric  string
	Label   string
	Values  []*summary    // one per series
	Ratio   float64       // hsp/JS, or B/A with two builds
	Targets []chartTarget // one per row: the two 8-client rows share a bar
}

// chartTarget is a row's target, as written beside its bar, with whether
// each hsp build met it.
type chartTarget struct {
	Text string
	Met  []bool
}

// chartPanel is the workloads that share a unit.
type chartPanel struct {
	Title string
	Unit  string
	Bars  []chartBar
}

var panelTitles = []struct{ unit, title string }{
	{unitRate, "throughput, blocks/s (higher is better)"},
	{unitMs, "time, ms (lower is better)"},
	{unitMiB, "daemon RSS, MiB (lower is better)"},
	{unitWire, "bytes on the wire of a download, both directions, MiB (lower is better)"},
}

// chartPanels groups the outcomes by unit; rows that share an hsp figure
// (the two 8-client rows) make one bar group with both targets.
func chartPanels(outs []outcome, l lineup) []chartPanel {
	series := chartSeriesOf(l)
	var panels []chartPanel
	for _, pt := range panelTitles {
		p := chartPanel{Title: pt.title, Unit: pt.unit}
		for _, o := range outs {
			if o.Unit != pt.unit || (o.HSP == nil && o.bFigures().HSP == nil) {
				continue
			}
			t := chartTarget{Text: o.Target + ": " + achievedCell(o.a()), Met: []bool{o.Met}}
			ratio := o.VsJS
			if l.ab() {
				b := o.bFigures()
				t = chartTarget{Text: o.Target + ": A " + achievedCell(o.a()) + ", B " + achievedCell(b), Met: []bool{o.Met, b.Met}}
				ratio = o.BOverA
			}
			var ts []chartTarget
			if !o.NoTarget {
				ts = []chartTarget{t}
			}
			if i := slices.IndexFunc(p.Bars, func(b chartBar) bool { return b.Metric == o.Metric }); i >= 0 {
				p.Bars[i].Targets = append(p.Bars[i].Targets, ts...)
				continue
			}
			values := make([]*summary, len(series))
			for i, sr := range series {
				values[i] = sr.value(o)
			}
			p.Bars = append(p.Bars, chartBar{Metric: o.Metric, Label: o.Title, Values: values, Ratio: ratio, Targets: ts})
		}
		if len(p.Bars) > 0 {
			panels = append(panels, p)
		}
	}
	return panels
}

// chartTitles are the chart's title and subtitle for a report.
func chartTitles(rep report) (string, string) {
	l := rep.lineup()
	what := "hsp"
	if l.ab() {
		what = "hsp A vs hsp B"
	}
	if l.JS {
		what += " vs JS Hyperspace 3.19"
	}
	title := fmt.Sprintf("%s: medians of %d rounds", what, rep.Rounds)
	if rep.Rounds == 1 {
		title = what + ": one round"
	}
	durability := "hsp fsyncs every append, JS never fsyncs"
	if !l.JS {
		durability = "hsp fsyncs every append"
	}
	date := rep.Machine.Date[:min(10, len(rep.Machine.Date))]
	sub := fmt.Sprintf("%s, %d CPUs (%s); %s; log scales", date, rep.Machine.CPUs, rep.Machine.CPUModel, durability)
	return title, sub
}

// Geometry of the chart, in pixels.
const (
	chartWidth = 1180
	labelWidth = 330
	plotWidth  = 470
	barHeight  = 13
	barGap     = 3
	groupGap   = 12
	panelHead  = 40
	axisHeight = 22
	chartHead  = 70
)

// logAxis maps values onto [0, plotWidth] logarithmically between powers
// of ten.
type logAxis struct{ lo, hi float64 }

func newLogAxis(values []float64) logAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return logAxis{1, 10}
	}
	a := logAxis{math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))}
	if a.hi <= a.lo {
		a.hi = a.lo * 10
	}
	return a
}

func (a logAxis) x(v float64) float64 {
	if v <= a.lo {
		return 0
	}
	return plotWidth * math.Log10(v/a.lo) / math.Log10(a.hi/a.lo)
}

// ticks are the powers of ten from lo to hi.
func (a logAxis) ticks() []float64 {
	var ts []float64
	for t := a.lo; t <= a.hi*1.0001; t *= 10 {
		ts = append(ts, t)
	}
	return ts
}

// tickLabel writes 1000 as 1k and 1000000 as 1M.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3) + "k"
	default:
		return trimFloat(v)
	}
}

// svgWriter accumulates the chart's elements.
type svgWriter struct{ bytes.Buffer }

func (s *svgWriter) text(x, y float64, anchor, class, txt string) {
	fmt.Fprintf(s, `<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">`, x, y, anchor, class)
	xml.EscapeText(s, []byte(txt))
	s.WriteString("</text>\n")
}

func (s *svgWriter) rect(x, y, w, h float64, class string) {
	fmt.Fprintf(s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="%s"/>`+"\n", x, y, max(w, 1), h, class)
}

func (s *svgWriter) line(x1, y1, x2, y2 float64, class string) {
	fmt.Fprintf(s, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="%s"/>`+"\n", x1, y1, x2, y2, class)
}

const svgStyle = `<style>
text { font-family: sans-serif; font-size: 12px; fill: #222; }
.title { font-size: 16px; font-weight: bold; }
.sub { font-size: 11px; fill: #555; }
.head { font-size: 13px; font-weight: bold; }
.tick { font-size: 10px; fill: #666; }
.val { font-size: 10px; fill: #333; }
.ok { fill: #1a7f37; font-weight: bold; }
.miss { fill: #c62828; font-weight: bold; }
.hsp { fill: #2b6cb0; }
.js { fill: #e09b2d; }
.grid { stroke: #ddd; stroke-width: 1; }
</style>
`

// svgStyleB styles build B's bars.
const svgStyleB = `<style>
.hspb { fill: #805ad5; }
</style>
`

// groupHeight is the height of a workload's bars, n of them, with the gap
// below.
func groupHeight(n int) int { return n*barHeight + (n-1)*barGap + groupGap }

// drawChart writes the SVG of the panels, whose bars are of series;
// title and subtitle head it.
func drawChart(w io.Writer, series []chartSeries, panels []chartPanel, title, subtitle string) error {
	height := chartHead
	for _, p := range panels {
		height += panelHead + axisHeight + len(p.Bars)*groupHeight(len(series))
	}
	var s svgWriter
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", chartWidth, height, chartWidth, height)
	s.WriteString(svgStyle)
	if slices.ContainsFunc(series, func(sr chartSeries) bool { return sr.Class == "hspb" }) {
		s.WriteString(svgStyleB)
	}
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartWidth, height)
	s.text(10, 22, "start", "title", title)
	s.text(10, 40, "start", "sub", subtitle)
	drawLegend(&s, series, 10, 56)
	y := float64(chartHead)
	classes := make([]string, len(series))
	for i, sr := range series {
		classes[i] = sr.Class
	}
	for _, p := range panels {
		y = drawPanel(&s, classes, p, y)
	}
	s.WriteString("</svg>\n")
	_, err := w.Write(s.Bytes())
	return err
}

func drawLegend(s *svgWriter, series []chartSeries, x, y float64) {
	ab, js := false, false
	for _, sr := range series {
		s.rect(x, y-10, 12, 12, sr.Class)
		s.text(x+16, y, "start", "sub", sr.Legend)
		x += sr.Width
		ab = ab || sr.Class == "hspb"
		js = js || sr.Class == "js"
	}
	right := "right: hsp/JS, then each target with what hsp achieved (✓ met, ✗ missed)"
	switch {
	case ab:
		right = "right: B/A, each target: A, B (✓ met, ✗ missed)"
	case !js:
		right = "right: each target with what hsp achieved (✓ met, ✗ missed)"
	}
	s.text(max(x, 570), y, "start", "sub", right)
}

// drawPanel draws one panel, a bar of each class per workload, from y
// down and returns where it ends.
func drawPanel(s *svgWriter, classes []string, p chartPanel, y float64) float64 {
	n := len(classes)
	var values []float64
	for _, b := range p.Bars {
		for _, v := range b.Values {
			if v != nil {
				values = append(values, v.Median)
			}
		}
	}
	ax := newLogAxis(values)
	s.text(10, y+24, "start", "head", p.Title)
	top := y + panelHead
	bottom := top + float64(len(p.Bars)*groupHeight(n))
	for _, t := range ax.ticks() {
		x := labelWidth + ax.x(t)
		s.line(x, top-6, x, bottom, "grid")
		s.text(x, top-9, "middle", "tick", tickLabel(t))
	}
	by := top
	for _, b := range p.Bars {
		drawBarGroup(s, ax, b, classes, by)
		by += float64(groupHeight(n))
	}
	return bottom + axisHeight
}

func drawBarGroup(s *svgWriter, ax logAxis, b chartBar, classes []string, y float64) {
	n := len(b.Values)
	mid := y + float64(n*barHeight+(n-1)*barGap)/2 + 0.5
	s.text(labelWidth-8, mid, "end", "", b.Label)
	for i, v := range b.Values {
		drawBar(s, ax, v, y+float64(i*(barHeight+barGap)), classes[i])
	}
	right := float64(labelWidth + plotWidth + 60)
	if b.Ratio != 0 {
		s.text(right, mid, "start", "", fmt.Sprintf("%.2f×", b.Ratio))
	}
	for i, t := range b.Targets {
		ty := y + 10 + float64(i)*(barHeight+barGap)
		if len(b.Targets) == 1 {
			ty = mid
		}
		x := right + 60
		for _, met := range t.Met {
			mark, class := "✗", "miss"
			if met {
				mark, class = "✓", "ok"
			}
			s.text(x, ty, "start", class, mark)
			x += 14
		}
		s.text(x+2, ty, "start", "val", t.Text)
	}
}

func drawBar(s *svgWriter, ax logAxis, v *summary, y float64, class string) {
	if v == nil {
		s.text(labelWidth+4, y+barHeight-2, "start", "val", "not measured")
		return
	}
	w := ax.x(v.Median)
	s.rect(labelWidth, y, w, barHeight, class)
	s.text(labelWidth+w+4, y+barHeight-2, "start", "val", formatValue(v.Median, v.Unit))
}
