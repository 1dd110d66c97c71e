package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// summary is the median and range of a measurement's samples.
type summary struct {
	Unit    string    `json:"unit"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
}

// summarize returns the summary of xs; ok is false when xs is empty.
func summarize(unit string, xs []float64) (summary, bool) {
	if len(xs) == 0 {
		return summary{Unit: unit}, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return summary{Unit: unit, Median: median(s), Min: s[0], Max: s[len(s)-1], Samples: xs}, true
}

// median of sorted values: the middle one, or the mean of the two middle.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// outcome is a row of the table with its figures: hsp's (build A's when
// there are two), and build B's in B.
type outcome struct {
	Workload string   `json:"workload"`
	Metric   string   `json:"metric"`
	Title    string   `json:"title"`
	Unit     string   `json:"unit"`
	HSP      *summary `json:"hsp"`
	JS       *summary `json:"js"`
	// VsJS is hsp's median over the JS median beside it.
	VsJS float64 `json:"hspOverJs,omitempty"`
	// RefLabel names the target's reference; Ratio is hsp's median over
	// the reference's median.
	RefLabel string  `json:"reference"`
	Ref      float64 `json:"referenceMedian,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// RatioText writes Ratio the way Target is written.
	RatioText string `json:"ratioText,omitempty"`
	Target    string `json:"target"`
	Met       bool   `json:"met"`
	// Missing is set when a figure the row needs was not measured.
	Missing bool `json:"missing,omitempty"`
	// NoTarget is set on a row shown for reference only.
	NoTarget bool `json:"noTarget,omitempty"`
	// B is build B's figures, in a run with a second hsp build (-hsp-b);
	// its target's reference is B's own when it is an hsp figure.
	B *figures `json:"hspB,omitempty"`
	// BOverA is build B's median over build A's (HSP's).
	BOverA float64 `json:"bOverA,omitempty"`
}

// figures are one hsp build's figures of a row, as outcome holds A's.
type figures struct {
	HSP       *summary `json:"hsp"`
	VsJS      float64  `json:"hspOverJs,omitempty"`
	Ref       float64  `json:"referenceMedian,omitempty"`
	Ratio     float64  `json:"ratio,omitempty"`
	RatioText string   `json:"ratioText,omitempty"`
	Met       bool     `json:"met"`
	Missing   bool     `json:"missing,omitempty"`
	NoTarget  bool     `json:"noTarget,omitempty"`
}

// a is the outcome's figures of build A (or of the only build).
func (o outcome) a() figures {
	return figures{HSP: o.HSP, VsJS: o.VsJS, Ref: o.Ref, Ratio: o.Ratio, RatioText: o.RatioText, Met: o.Met, Missing: o.Missing, NoTarget: o.NoTarget}
}

// evaluate computes the rows' outcomes from the samples of a run, for
// each hsp build of l.
func evaluate(rs []row, got map[string][]float64, l lineup) []outcome {
	out := make([]outcome, len(rs))
	for i, r := range rs {
		out[i] = evaluateRow(r, got)
		if l.ab() {
			b := evaluateFigures(r, sideHSPB, got)
			out[i].B = &b
			if out[i].HSP != nil && b.HSP != nil {
				out[i].BOverA = b.HSP.Median / out[i].HSP.Median
			}
		}
	}
	return out
}

// evaluateRow computes a row's outcome for hsp (build A).
func evaluateRow(r row, got map[string][]float64) outcome {
	unit := units[r.Metric]
	o := outcome{Workload: r.Workload, Metric: r.Metric, Title: r.Title, Unit: unit, RefLabel: r.RefLabel, Target: targetText(r)}
	if js, ok := summarize(unit, got[r.JS]); ok {
		o.JS = &js
	}
	f := evaluateFigures(r, sideHSP, got)
	o.HSP, o.VsJS, o.Ref, o.Ratio, o.RatioText, o.Met, o.Missing, o.NoTarget = f.HSP, f.VsJS, f.Ref, f.Ratio, f.RatioText, f.Met, f.Missing, f.NoTarget
	return o
}

// evaluateFigures computes a row's figures for the hsp build measured as
// side.
func evaluateFigures(r row, side string, got map[string][]float64) figures {
	unit := units[r.Metric]
	var f figures
	hsp, okH := summarize(unit, got[key(side, r.Metric)])
	js, okJ := summarize(unit, got[r.JS])
	ref, okR := summarize(unit, got[r.refFor(side)])
	if okH {
		f.HSP = &hsp
		if okJ {
			f.VsJS = hsp.Median / js.Median
		}
	}
	if r.noTarget() {
		f.NoTarget, f.Missing = true, !okH
		return f
	}
	if !okH || !okR {
		f.Missing = true
		return f
	}
	f.Ref = ref.Median
	f.Ratio = hsp.Median / ref.Median
	f.RatioText = ratioText(r, f.Ratio)
	f.Met = f.Ratio >= r.Want
	if r.AtMost {
		f.Met = f.Ratio <= r.Want
	}
	return f
}

// ratioText writes a ratio the way the row's target is written.
func ratioText(r row, ratio float64) string {
	switch {
	case r.AtMost && r.Want < 1:
		return "1/" + trimFloat(1/ratio)
	case r.Want < 1:
		return fmt.Sprintf("%.1f%%", ratio*100)
	default:
		return fmt.Sprintf("%.2f×", ratio)
	}
}

// targetText writes a row's target: "≥ 0.70× in-process", "≤ 1/4 of JS",
// "≤ 1.1× JS → JS".
func targetText(r row) string {
	if r.noTarget() {
		return "none (for reference)"
	}
	if r.AtMost && r.Want < 1 {
		return fmt.Sprintf("≤ 1/%s of %s", trimFloat(1/r.Want), r.RefLabel)
	}
	if r.AtMost {
		return fmt.Sprintf("≤ %s× %s", trimFloat(r.Want), r.RefLabel)
	}
	if r.Want < 1 {
		return fmt.Sprintf("≥ %s%% of %s", trimFloat(r.Want*100), r.RefLabel)
	}
	return fmt.Sprintf("≥ %s× %s", trimFloat(r.Want), r.RefLabel)
}

// trimFloat prints v with at most two decimals and no trailing zeros.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// formatValue prints a figure in its unit: rates and sizes with thousands
// separators or one decimal, times in ms.
func formatValue(v float64, unit string) string {
	switch {
	case unit == unitRate || v >= 1000:
		return groupThousands(int64(math.Round(v)))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// formatValues prints samples as "a, b, c unit".
func formatValues(xs []float64, unit string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = formatValue(x, unit)
	}
	return strings.Join(parts, ", ") + " " + unit
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
