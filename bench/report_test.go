package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

func sampleOutcomes() []outcome {
	got := map[string][]float64{
		"hsp/append-1k-1": {2000, 2100, 1900}, "js/append-1k-1": {4000}, "inproc/append-1k-1": {3000},
		"hsp/append-1k-1-x8": {7000}, "js/append-1k-1-x8": {4100},
		"hsp/spawn-status": {50}, "js/spawn-status": {280},
		"hsp/idle-rss": {24}, "js/idle-rss": {64},
	}
	rs, _ := selectRows(rows(defaultParams), "append-1k,append-1k-x8,spawn-status,idle-rss,read-get")
	return evaluate(rs, got)
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, sampleOutcomes()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| workload ", "| append 1 KiB, 1 per call, 1 client ", "2,000 (1,900–2,100)", "66.7%", "**no**",
		"≤ 1/4 of JS", "1/5.6", "| sequential read, 1 KiB, get per block ", "n/a", "never fsyncs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(strings.Split(out, "\n\n")[0]), "\n")
	width := len([]rune(lines[0]))
	for _, l := range lines {
		if len([]rune(l)) != width {
			t.Errorf("ragged table line %q", l)
		}
	}
}

func TestChartPanels(t *testing.T) {
	panels := chartPanels(sampleOutcomes())
	if len(panels) != 3 {
		t.Fatalf("%d panels, want rate, ms and MiB", len(panels))
	}
	rate := panels[0]
	if len(rate.Bars) != 2 {
		t.Fatalf("rate panel has %d bars; the two 8-client rows must share one", len(rate.Bars))
	}
	// 7000 is 3.5× hsp's one client but only 1.75× JS's: one target missed.
	ts := rate.Bars[1].Targets
	if len(ts) != 2 || !ts[0].Met || ts[1].Met || rate.Bars[1].JS.Median != 4100 {
		t.Errorf("8-client bar: %+v", rate.Bars[1])
	}
}

func TestDrawChartIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := drawChart(&b, chartPanels(sampleOutcomes()), "title & <test>", "sub"); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	rects := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// background + 2 legend swatches + 2 bars for each of 4 workloads
	if rects != 1+2+2*4 {
		t.Errorf("%d rects", rects)
	}
}

func TestLogAxis(t *testing.T) {
	a := newLogAxis([]float64{3, 250})
	if a.lo != 1 || a.hi != 1000 {
		t.Fatalf("axis %+v, want 1..1000", a)
	}
	if x := a.x(10); math.Abs(x-plotWidth/3.0) > 1e-9 {
		t.Errorf("x(10) = %v", x)
	}
	if got := len(a.ticks()); got != 4 {
		t.Errorf("%d ticks, want 4", got)
	}
	if a := newLogAxis([]float64{100}); a.hi <= a.lo {
		t.Errorf("degenerate axis %+v", a)
	}
	if tickLabel(1e5) != "100k" || tickLabel(1e6) != "1M" || tickLabel(0.1) != "0.1" {
		t.Error("tick labels")
	}
}
