package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// durabilityNote goes beside every table of figures; durabilityNoteHSP
// when JS did not run.
const (
	durabilityNoteHSP = "hsp runs with its default durability: every append call is in the pebble WAL " +
		"and fsynced before it returns."
	durabilityNote = durabilityNoteHSP + " JS Hyperspace 3.19 never fsyncs (random-access-file), so its " +
		"acknowledged appends can be lost in a crash."
)

// replNote goes beside the durability note when replication rows ran.
const replNote = "Replication: hsp → hsp and JS → hsp time `hsp replicate` from its start until it exits 0, " +
	"which it does once every block is verified and synced to disk; JS → JS and hsp → JS time the JS " +
	"downloader (hypercore 9.12 on random-access-file, never fsynced) from its connect until its 'sync' " +
	"event with every block stored; the ceiling times core.ImportBatch of the download's Data messages " +
	"(batches of 512 blocks or 8 MiB) into a durable core/store store in this process. Every download " +
	"goes through a counting TCP proxy in this process, which gives the bytes on the wire."

// note is the durability note for a run of l with rows rs.
func note(l lineup, rs []outcome) string {
	n := durabilityNoteHSP
	if l.JS {
		n = durabilityNote
	}
	ran := func(prefix string) bool {
		return slices.ContainsFunc(rs, func(o outcome) bool { return strings.HasPrefix(o.Workload, prefix) })
	}
	if ran("repl-") {
		n += "\n\n" + replNote
	}
	if ran("dht-") {
		n += "\n\n" + dhtNote
	}
	return n
}

// column is a column of the table: its head and how a row fills it.
type column struct {
	head string
	cell func(outcome) string
}

// columns are the table's columns for a run of l. With one build and JS
// (the default): workload, unit, hsp, JS, hsp/JS, target, achieved, met.
// With builds A and B, A's and B's medians and B/A come first, then JS,
// then the target with each build's outcome; without JS, no JS columns.
func columns(l lineup) []column {
	cols := []column{
		{"workload", func(o outcome) string { return o.Title }},
		{"unit", func(o outcome) string { return o.Unit }},
	}
	jsCol := column{"JS median (min–max)", func(o outcome) string { return cell(o.JS) }}
	target := column{"target", func(o outcome) string { return o.Target }}
	if !l.ab() {
		cols = append(cols, column{"hsp median (min–max)", func(o outcome) string { return cell(o.HSP) }})
		if l.JS {
			cols = append(cols, jsCol, column{"hsp/JS", func(o outcome) string { return ratioCell(o.VsJS) }})
		}
		return append(cols, target,
			column{"achieved", func(o outcome) string { return achievedCell(o.a()) }},
			column{"met", func(o outcome) string { return metCell(o.a()) }})
	}
	b := func(o outcome) figures {
		if o.B == nil {
			return figures{Missing: true}
		}
		return *o.B
	}
	cols = append(cols,
		column{"hsp A median (min–max)", func(o outcome) string { return cell(o.HSP) }},
		column{"hsp B median (min–max)", func(o outcome) string { return cell(b(o).HSP) }},
		column{"B/A", func(o outcome) string { return ratioCell(o.BOverA) }})
	if l.JS {
		cols = append(cols, jsCol)
	}
	return append(cols, target,
		column{"A achieved", func(o outcome) string { return achievedCell(o.a()) }},
		column{"B achieved", func(o outcome) string { return achievedCell(b(o)) }},
		column{"A met", func(o outcome) string { return metCell(o.a()) }},
		column{"B met", func(o outcome) string { return metCell(b(o)) }})
}

func ratioCell(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", r)
}

func achievedCell(f figures) string {
	if f.NoTarget {
		return "—"
	}
	if f.Missing {
		return "n/a"
	}
	return f.RatioText
}

func metCell(f figures) string {
	if f.NoTarget {
		return "—"
	}
	if f.Missing {
		return "n/a"
	}
	return map[bool]string{true: "yes", false: "**no**"}[f.Met]
}

// writeTable prints the report's rows as a markdown table, then the hsp
// builds when there are two, then the note.
func writeTable(w io.Writer, rep report) error {
	cols := columns(rep.lineup())
	head := make([]string, len(cols))
	for j, c := range cols {
		head[j] = c.head
	}
	lines := [][]string{head}
	for _, o := range rep.Rows {
		cells := make([]string, len(cols))
		for j, c := range cols {
			cells[j] = c.cell(o)
		}
		lines = append(lines, cells)
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
	if len(rep.Builds) > 1 {
		b.WriteString("\n")
		for _, bd := range rep.Builds {
			fmt.Fprintf(&b, "%s\n", bd.describe())
		}
	}
	fmt.Fprintf(&b, "\n%s\n", note(rep.lineup(), rep.Rows))
	_, err := io.WriteString(w, b.String())
	return err
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
	Builds         []build            `json:"builds"`
	SkipJS         bool               `json:"skipJs,omitempty"` // -js=false
	ElapsedSeconds float64            `json:"elapsedSeconds"`
	Note           string             `json:"note"`
	Rows           []outcome          `json:"rows"`
	Measurements   map[string]summary `json:"measurements"`
	Errors         []string           `json:"errors,omitempty"`
}

// lineup is what the report compares.
func (r report) lineup() lineup {
	l := lineup{HSP: []string{sideHSP}, JS: !r.SkipJS}
	if len(r.Builds) > 1 {
		l.HSP = append(l.HSP, sideHSPB)
	}
	return l
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
