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
// in it a pair of horizontal bars (hsp, JS) per workload.

// chartBar is one workload of the chart.
type chartBar struct {
	Metric  string
	Label   string
	HSP, JS *summary
	VsJS    float64
	Targets []chartTarget // one per row: the two 8-client rows share a bar
}

// chartTarget is a row's target, as written beside its bar.
type chartTarget struct {
	Text string
	Met  bool
}

// chartPanel is the workloads that share a unit.
type chartPanel struct {
	Title string
	Unit  string
	Bars  []chartBar
}

var panelTitles = []struct{ unit, title string }{
	{unitRate, "throughput, blocks/s (higher is better)"},
	{unitMs, "spawn → status, ms (lower is better)"},
	{unitMiB, "daemon RSS, MiB (lower is better)"},
}

// chartPanels groups the outcomes by unit; rows that share an hsp figure
// (the two 8-client rows) make one bar pair with both targets.
func chartPanels(outs []outcome) []chartPanel {
	var panels []chartPanel
	for _, pt := range panelTitles {
		p := chartPanel{Title: pt.title, Unit: pt.unit}
		for _, o := range outs {
			if o.Unit != pt.unit || o.HSP == nil {
				continue
			}
			t := chartTarget{Text: o.Target + ": n/a", Met: o.Met}
			if !o.Missing {
				t.Text = o.Target + ": " + o.RatioText
			}
			if i := slices.IndexFunc(p.Bars, func(b chartBar) bool { return b.Metric == o.Metric }); i >= 0 {
				p.Bars[i].Targets = append(p.Bars[i].Targets, t)
				continue
			}
			p.Bars = append(p.Bars, chartBar{Metric: o.Metric, Label: o.Title, HSP: o.HSP, JS: o.JS, VsJS: o.VsJS, Targets: []chartTarget{t}})
		}
		if len(p.Bars) > 0 {
			panels = append(panels, p)
		}
	}
	return panels
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

// drawChart writes the SVG of the panels; title and subtitle head it.
func drawChart(w io.Writer, panels []chartPanel, title, subtitle string) error {
	height := chartHead
	for _, p := range panels {
		height += panelHead + axisHeight + len(p.Bars)*(2*barHeight+barGap+groupGap)
	}
	var s svgWriter
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", chartWidth, height, chartWidth, height)
	s.WriteString(svgStyle)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartWidth, height)
	s.text(10, 22, "start", "title", title)
	s.text(10, 40, "start", "sub", subtitle)
	drawLegend(&s, 10, 56)
	y := float64(chartHead)
	for _, p := range panels {
		y = drawPanel(&s, p, y)
	}
	s.WriteString("</svg>\n")
	_, err := w.Write(s.Bytes())
	return err
}

func drawLegend(s *svgWriter, x, y float64) {
	s.rect(x, y-10, 12, 12, "hsp")
	s.text(x+16, y, "start", "sub", "hsp (Go daemon, via package rpc)")
	s.rect(x+230, y-10, 12, 12, "js")
	s.text(x+246, y, "start", "sub", "JS Hyperspace 3.19 (via @hyperspace/client)")
	s.text(x+560, y, "start", "sub", "right: hsp/JS, then each target with what hsp achieved (✓ met, ✗ missed)")
}

// drawPanel draws one panel from y down and returns where it ends.
func drawPanel(s *svgWriter, p chartPanel, y float64) float64 {
	var values []float64
	for _, b := range p.Bars {
		values = append(values, b.HSP.Median)
		if b.JS != nil {
			values = append(values, b.JS.Median)
		}
	}
	ax := newLogAxis(values)
	s.text(10, y+24, "start", "head", p.Title)
	top := y + panelHead
	bottom := top + float64(len(p.Bars)*(2*barHeight+barGap+groupGap))
	for _, t := range ax.ticks() {
		x := labelWidth + ax.x(t)
		s.line(x, top-6, x, bottom, "grid")
		s.text(x, top-9, "middle", "tick", tickLabel(t))
	}
	by := top
	for _, b := range p.Bars {
		drawBarPair(s, ax, b, by)
		by += 2*barHeight + barGap + groupGap
	}
	return bottom + axisHeight
}

func drawBarPair(s *svgWriter, ax logAxis, b chartBar, y float64) {
	s.text(labelWidth-8, y+barHeight+2, "end", "", b.Label)
	drawBar(s, ax, b.HSP, y, "hsp")
	drawBar(s, ax, b.JS, y+barHeight+barGap, "js")
	right := float64(labelWidth + plotWidth + 60)
	if b.VsJS != 0 {
		s.text(right, y+barHeight+2, "start", "", fmt.Sprintf("%.2f×", b.VsJS))
	}
	for i, t := range b.Targets {
		ty := y + 10 + float64(i)*(barHeight+barGap)
		if len(b.Targets) == 1 {
			ty = y + barHeight + 2
		}
		mark, class := "✗", "miss"
		if t.Met {
			mark, class = "✓", "ok"
		}
		s.text(right+60, ty, "start", class, mark)
		s.text(right+76, ty, "start", "val", t.Text)
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
