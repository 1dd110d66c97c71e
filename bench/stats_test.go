package main

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		in               []float64
		median, min, max float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
	}
	for _, tt := range tests {
		s, ok := summarize(unitRate, tt.in)
		if !ok || s.Median != tt.median || s.Min != tt.min || s.Max != tt.max {
			t.Errorf("summarize(%v) = %+v, %v; want median %v, min %v, max %v", tt.in, s, ok, tt.median, tt.min, tt.max)
		}
	}
	if _, ok := summarize(unitRate, nil); ok {
		t.Error("summarize(nil) is ok")
	}
	in := []float64{2, 1}
	summarize(unitRate, in)
	if in[0] != 2 {
		t.Error("summarize sorted its argument")
	}
}

func TestEvaluateRow(t *testing.T) {
	got := map[string][]float64{
		"hsp/append-1k-1":    {700, 800, 900},
		"inproc/append-1k-1": {1000, 1000, 1000},
		"js/append-1k-1":     {400},
		"hsp/spawn-status":   {50, 60},
		"js/spawn-status":    {300, 200},
	}
	tests := []struct {
		r         row
		ratio     float64
		met       bool
		ratioText string
	}{
		{row{Metric: mAppend1, JS: "js/append-1k-1", Ref: "inproc/append-1k-1", RefLabel: "in-process", Want: 0.70}, 0.8, true, "80.0%"},
		{row{Metric: mAppend1, JS: "js/append-1k-1", Ref: "inproc/append-1k-1", Want: 0.85}, 0.8, false, "80.0%"},
		{row{Metric: mAppend1, JS: "js/append-1k-1", Ref: "js/append-1k-1", Want: 2}, 2, true, "2.00×"},
		{row{Metric: mSpawnStatus, JS: "js/spawn-status", Ref: "js/spawn-status", Want: 0.25, AtMost: true}, 0.22, true, "1/4.55"},
		{row{Metric: mSpawnStatus, JS: "js/spawn-status", Ref: "js/spawn-status", Want: 0.2, AtMost: true}, 0.22, false, "1/4.55"},
	}
	for i, tt := range tests {
		o := evaluateRow(tt.r, got)
		if math.Abs(o.Ratio-tt.ratio) > 1e-9 || o.Met != tt.met || o.RatioText != tt.ratioText || o.Missing {
			t.Errorf("%d: ratio %v met %v text %q missing %v; want %v %v %q", i, o.Ratio, o.Met, o.RatioText, o.Missing, tt.ratio, tt.met, tt.ratioText)
		}
	}
	o := evaluateRow(row{Metric: mReadGet, JS: "js/read-get", Ref: "js/read-get", Want: 2}, got)
	if !o.Missing || o.Met || o.HSP != nil {
		t.Errorf("row without figures: %+v", o)
	}
}

func TestTargetText(t *testing.T) {
	tests := []struct {
		r    row
		want string
	}{
		{row{RefLabel: "in-process", Want: 0.70}, "≥ 70% of in-process"},
		{row{RefLabel: "hsp 1 client", Want: 3}, "≥ 3× hsp 1 client"},
		{row{RefLabel: "JS", Want: 1.0 / 3, AtMost: true}, "≤ 1/3 of JS"},
		{row{RefLabel: "JS", Want: 0.1, AtMost: true}, "≤ 1/10 of JS"},
	}
	for _, tt := range tests {
		if got := targetText(tt.r); got != tt.want {
			t.Errorf("targetText(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{1234567.4, unitRate, "1,234,567"},
		{12.4, unitRate, "12"},
		{46.14, unitMs, "46.1"},
		{606.2, unitMiB, "606"},
		{1500, unitMs, "1,500"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("formatValue(%v, %s) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}
