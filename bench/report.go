package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// durabilityNote goes beside every table of figures.
const durabilityNote = "hsp runs with its default durability: every append call is in the pebble WAL " +
	"and fsynced before it returns. JS Hyperspace 3.19 never fsyncs (random-access-file), so its " +
	"acknowledged appends can be lost in a crash."

// writeTable prints the outcomes as a markdown table, then the note.
func writeTable(w io.Writer, outs []outcome) error {
	lines := [][]string{{"workload", "unit", "hsp median (min–max)", "JS median (min–max)", "hsp/JS", "target", "achieved", "met"}}
	for _, o := range outs {
		lines = append(lines, tableCells(o))
	}
	widths := columnWidths(lines)
	var b strings.Builder
	for i, cells := range lines {
		writeTableLine(&b, cells, widths)
		if i == 0 {
			dashes := make([]string, len(widths))
			for j, n := range widths {
				dashes[j] = strings.Repeat("-", n)
			}
			writeTableLine(&b, dashes, widths)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", durabilityNote)
	_, err := io.WriteString(w, b.String())
	return err
}

func tableCells(o outcome) []string {
	vsJS, achieved, met := "n/a", "n/a", "n/a"
	if o.VsJS != 0 {
		vsJS = fmt.Sprintf("%.2f×", o.VsJS)
	}
	if !o.Missing {
		achieved = o.RatioText
		met = map[bool]string{true: "yes", false: "**no**"}[o.Met]
	}
	return []string{o.Title, o.Unit, cell(o.HSP), cell(o.JS), vsJS, o.Target, achieved, met}
}

// cell writes "median (min–max)", or "n/a".
func cell(s *summary) string {
	if s == nil {
		return "n/a"
	}
	if len(s.Samples) == 1 {
		return formatValue(s.Median, s.Unit)
	}
	return fmt.Sprintf("%s (%s–%s)", formatValue(s.Median, s.Unit), formatValue(s.Min, s.Unit), formatValue(s.Max, s.Unit))
}

func columnWidths(lines [][]string) []int {
	widths := make([]int, len(lines[0]))
	for _, cells := range lines {
		for j, c := range cells {
			widths[j] = max(widths[j], len([]rune(c)))
		}
	}
	return widths
}

func writeTableLine(b *strings.Builder, cells []string, widths []int) {
	b.WriteString("|")
	for j, c := range cells {
		fmt.Fprintf(b, " %s%s |", c, strings.Repeat(" ", widths[j]-len([]rune(c))))
	}
	b.WriteString("\n")
}

// report is the JSON file a run writes.
type report struct {
	Machine        machine            `json:"machine"`
	Command        string             `json:"command"`
	Rounds         int                `json:"rounds"`
	Scale          float64            `json:"scale"`
	Params         params             `json:"params"`
	ElapsedSeconds float64            `json:"elapsedSeconds"`
	Note           string             `json:"note"`
	Rows           []outcome          `json:"rows"`
	Measurements   map[string]summary `json:"measurements"`
	Errors         []string           `json:"errors,omitempty"`
}

// measurements summarizes every sample of a run.
func measurements(got map[string][]float64) map[string]summary {
	out := map[string]summary{}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_, metric, _ := strings.Cut(k, "/")
		if s, ok := summarize(units[metric], got[k]); ok {
			out[k] = s
		}
	}
	return out
}

// writeJSON writes the report to path, indented.
func writeJSON(path string, r report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
