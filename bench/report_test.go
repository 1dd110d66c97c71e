package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

var sampleGot = map[string][]float64{
	"hsp/append-1k-1": {2000, 2100, 1900}, "js/append-1k-1": {4000}, "inproc/append-1k-1": {3000},
	"hsp/append-1k-1-x8": {7000}, "js/append-1k-1-x8": {4100}, "inproc/append-1k-1-x8": {8000},
	"hsp/spawn-status": {50}, "js/spawn-status": {280},
	"hsp/idle-rss": {24}, "js/idle-rss": {64},
	"hsp-b/append-1k-1": {2400}, "hsp-b/append-1k-1-x8": {6000},
	"hsp-b/spawn-status": {40}, "hsp-b/idle-rss": {23},
}

const sampleOnly = "append-1k,append-1k-x8,spawn-status,idle-rss,read-get"

func sampleOutcomes() []outcome { return sampleOutcomesOf(lineupDefault) }

func sampleOutcomesOf(l lineup) []outcome {
	rs, _ := selectRows(rows(defaultParams), sampleOnly)
	got := sampleGot
	if !l.JS {
		rs = withoutJS(rs)
		got = map[string][]float64{}
		for k, v := range sampleGot {
			if !strings.HasPrefix(k, sideJS+"/") {
				got[k] = v
			}
		}
	}
	return evaluate(rs, got, l)
}

// sampleReport is a report of the sample figures for l.
func sampleReport(l lineup) report {
	rep := report{Rows: sampleOutcomesOf(l), SkipJS: !l.JS, Builds: []build{{Name: "hsp", Side: sideHSP, Path: "/tmp/x/hsp", Built: true}}}
	if l.ab() {
		rep.Builds = []build{{Name: "A", Side: sideHSP, Path: "/tmp/hsp-a", SHA256: "aa"}, {Name: "B", Side: sideHSPB, Path: "/tmp/hsp-b", SHA256: "bb"}}
	}
	return rep
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, sampleReport(lineupDefault)); err != nil {
		t.Fatal(err)
	}
	out := squeeze(b.String())
	for _, want := range []string{
		"| workload | unit | hsp median (min–max) | JS median (min–max) | hsp/JS | target ",
		"| append 1 KiB, 1 per call, 1 client ", "2,000 (1,900–2,100)", "66.7%", "**no**",
		"≤ 1/4 of JS", "1/5.6", "| sequential read, 1 KiB, get per block ", "n/a", "never fsyncs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hsp B") || strings.Contains(out, "/tmp/x/hsp") {
		t.Errorf("default table shows builds:\n%s", out)
	}
	checkRagged(t, b.String())
}

func TestWriteTableAB(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, sampleReport(lineupAB)); err != nil {
		t.Fatal(err)
	}
	out := squeeze(b.String())
	for _, want := range []string{
		"| workload | unit | hsp A median (min–max) | hsp B median (min–max) | B/A | JS median (min–max) | target | A achieved | B achieved | A met | B met |",
		// 2,400 is 80% of in-process: both builds miss the target.
		"| 2,000 (1,900–2,100) | 2,400 | 1.20× | 4,000 | ≥ 85% of in-process | 66.7% | 80.0% | **no** | **no** |",
		// Both builds' 8 clients are against the 8 writers in-process.
		"| 0.86× | 4,100 | ≥ 85% of in-process 8 writers | 87.5% | 75.0% | yes | **no** |",
		"A: /tmp/hsp-a (sha256 aa)", "B: /tmp/hsp-b (sha256 bb)", "never fsyncs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("A/B table lacks %q:\n%s", want, out)
		}
	}
	checkRagged(t, b.String())

	b.Reset()
	if err := writeTable(&b, sampleReport(lineupABNoJS)); err != nil {
		t.Fatal(err)
	}
	out = squeeze(b.String())
	if strings.Contains(out, "JS median") || strings.Contains(out, "JS 1 client") || strings.Contains(out, "never fsyncs") {
		t.Errorf("table without JS shows JS:\n%s", out)
	}
	if !strings.Contains(out, "| idle daemon RSS | MiB | 24.0 | 23.0 | 0.96× | ≤ 1/3 of JS | n/a | n/a | n/a | n/a |") {
		t.Errorf("table without JS:\n%s", out)
	}
	checkRagged(t, b.String())
}

// squeeze collapses the padding of table cells to one space.
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func checkRagged(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(strings.Split(out, "\n\n")[0]), "\n")
	width := len([]rune(lines[0]))
	for _, l := range lines {
		if len([]rune(l)) != width {
			t.Errorf("ragged table line %q", l)
		}
	}
}

func TestChartPanels(t *testing.T) {
	panels := chartPanels(sampleOutcomes(), lineupDefault)
	if len(panels) != 3 {
		t.Fatalf("%d panels, want rate, ms and MiB", len(panels))
	}
	rate := panels[0]
	if len(rate.Bars) != 2 {
		t.Fatalf("rate panel has %d bars; the two 8-client rows must share one", len(rate.Bars))
	}
	// 7000 is 87.5% of 8 writers in-process but only 1.75× JS's one
	// client: one target missed.
	ts := rate.Bars[1].Targets
	if len(ts) != 2 || !ts[0].Met[0] || ts[1].Met[0] || rate.Bars[1].Values[1].Median != 4100 {
		t.Errorf("8-client bar: %+v", rate.Bars[1])
	}

	ab := chartPanels(sampleOutcomesOf(lineupAB), lineupAB)[0].Bars[0]
	if len(ab.Values) != 3 || ab.Values[1].Median != 2400 || math.Abs(ab.Ratio-1.2) > 1e-9 ||
		!slices.Equal(ab.Targets[0].Met, []bool{false, false}) || ab.Targets[0].Text != "≥ 85% of in-process: A 66.7%, B 80.0%" {
		t.Errorf("A/B bar: %+v", ab)
	}
}

func TestDrawChartIsWellFormed(t *testing.T) {
	for _, tt := range []struct {
		l     lineup
		rects int
	}{
		// background + a legend swatch per series + a bar per series for each of 4 workloads
		{lineupDefault, 1 + 2 + 2*4},
		{lineupAB, 1 + 3 + 3*4},
		{lineupABNoJS, 1 + 2 + 2*4},
	} {
		var b bytes.Buffer
		if err := drawChart(&b, chartSeriesOf(tt.l), chartPanels(sampleOutcomesOf(tt.l), tt.l), "title & <test>", "sub"); err != nil {
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
		if rects != tt.rects {
			t.Errorf("%+v: %d rects, want %d", tt.l, rects, tt.rects)
		}
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
