package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseReplicateLines finds the first progress line with a peer, when
// it came, and the done record; a download without progress lines gives 0.
func TestParseReplicateLines(t *testing.T) {
	lines := []timedLine{
		{90 * time.Millisecond, "hsp: a warning that is no JSON"},
		{110 * time.Millisecond, `{"type":"progress","have":0,"peers":0,"connections":1,"elapsedMs":80}`},
		{360 * time.Millisecond, `{"type":"progress","have":4000,"peers":1,"elapsedMs":330}`},
		{610 * time.Millisecond, `{"type":"progress","have":9000,"peers":2,"elapsedMs":580}`},
		{700 * time.Millisecond, `{"type":"done","start":0,"end":10,"have":10,"downloadedBlocks":10,"downloadedBytes":10240,"peers":1,"elapsedMs":655}`},
	}
	first, done := parseReplicateLines(lines)
	if first != 360*time.Millisecond || done.ElapsedMs != 655 || done.check(10, 1024) != nil {
		t.Errorf("first progress with a peer at %v, done %+v", first, done)
	}
	first, done = parseReplicateLines(lines[4:])
	if first != 0 || done.check(10, 1024) != nil {
		t.Errorf("no progress line: first %v, done %+v", first, done)
	}
	if _, done := parseReplicateLines(lines[:4]); done.check(10, 1024) == nil {
		t.Error("output without a done record passed the check")
	}
}

// TestReadTimedLines notes when each line came, and reads a line longer
// than the scanner's buffer to the end instead of leaving the writer
// blocked.
func TestReadTimedLines(t *testing.T) {
	r, w := io.Pipe()
	go func() {
		io.WriteString(w, "one\n")
		time.Sleep(30 * time.Millisecond)
		io.WriteString(w, "two\n")
		w.Write(bytes.Repeat([]byte("x"), 2<<20))
		io.WriteString(w, "\nthree\n")
		w.Close()
	}()
	lines := readTimedLines(r, time.Now())
	if len(lines) != 2 || lines[0].text != "one" || lines[1].text != "two" || lines[1].at-lines[0].at < 20*time.Millisecond {
		t.Errorf("lines %+v", lines)
	}
	if got := joinLines(lines); got != "one\ntwo\n" {
		t.Errorf("joinLines = %q", got)
	}
}

// TestJSDHTResult accepts a whole download and refuses a short one, one
// that sent off loopback, and a first peer after the end.
func TestJSDHTResult(t *testing.T) {
	good := `{"type":"result","offLoopbackBlocked":0,"seconds":5.2,"firstPeerSeconds":0.127,"configureSeconds":0.03,` +
		`"updateSeconds":0.14,"blocks":10,"downloaded":10,"byteLength":10240,"bootstrap":"127.0.0.1:48559","daemonBlocked":0}`
	for _, c := range []struct {
		old, new string // the edit of the good line
		ok       bool
	}{
		{"", "", true},
		{`"downloaded":10`, `"downloaded":9`, false},
		{`"byteLength":10240`, `"byteLength":10000`, false},
		{`"daemonBlocked":0`, `"daemonBlocked":2`, false},
		{`"firstPeerSeconds":0.127`, `"firstPeerSeconds":6`, false},
		{`"type":"result"`, `"type":"meta"`, false},
	} {
		line := strings.Replace(good, c.old, c.new, 1)
		var r jsDHTResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if err := r.check(10, 1024); (err == nil) != c.ok {
			t.Errorf("%s: check = %v", line, err)
		}
	}
}

// TestDHTListening accepts only a persistent node on 127.0.0.1.
func TestDHTListening(t *testing.T) {
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{`{"type":"listening","host":"127.0.0.1","port":58196,"id":"8cb4","persistent":true,"bootstrap":[]}`, true},
		{`{"type":"listening","host":"0.0.0.0","port":58196,"persistent":true}`, false},
		{`{"type":"listening","host":"127.0.0.1","port":58196,"persistent":false}`, false},
		{`{"type":"bootstrapped","nodes":3}`, false},
	} {
		var l dhtListening
		if err := json.Unmarshal([]byte(c.line), &l); err != nil {
			t.Fatal(err)
		}
		if err := l.check(); (err == nil) != c.ok {
			t.Errorf("%s: check = %v", c.line, err)
		}
	}
}

// TestDHTJobs checks the DHT workloads' jobs, in the order of a round,
// and that their metrics have units.
func TestDHTJobs(t *testing.T) {
	var got []string
	for _, j := range jobs(defaultParams, lineupAB) {
		if strings.HasPrefix(j.Group, "dht-") {
			got = append(got, j.Group+"/"+j.Side+"/"+strings.Join(j.Metrics, ","))
		}
	}
	hsp := func(w string) string {
		return fmt.Sprintf("%[1]s,%[1]s-first-peer,%[1]s-cli,%[1]s-cli-first-peer,%[1]s-self,%[1]s-first-progress", w)
	}
	want := []string{
		"dht-1k/hsp/" + hsp("dht-1k"),
		"dht-1k/hsp-b/" + hsp("dht-1k"),
		"dht-1k/js/dht-1k,dht-1k-first-peer",
		"dht-64k/hsp/" + hsp("dht-64k"),
		"dht-64k/hsp-b/" + hsp("dht-64k"),
		"dht-64k/js/dht-64k,dht-64k-first-peer",
	}
	if !slices.Equal(got, want) {
		t.Errorf("DHT jobs %v, want %v", got, want)
	}
	for m, u := range map[string]string{"dht-1k": unitRate, "dht-64k-first-peer": unitMs, "dht-1k-cli": unitRate, "dht-64k-cli-first-peer": unitMs,
		"dht-1k-self": unitRate, "dht-64k-first-progress": unitMs} {
		if units[m] != u {
			t.Errorf("metric %s: unit %q, want %q", m, units[m], u)
		}
	}
	if p := defaultParams.scaled(0.05); p.DHT1kN != 500 || p.DHT64kN != 100 {
		t.Errorf("scaled(0.05): %d and %d blocks through the DHT", p.DHT1kN, p.DHT64kN)
	}
	for _, j := range jobs(defaultParams, lineup{HSP: []string{sideHSP}}) {
		if strings.HasPrefix(j.Group, "dht-") && needsJS([]job{j}) {
			t.Errorf("without JS, job %s/%s needs node", j.Group, j.Side)
		}
	}
}

// TestDHTRows checks the DHT rows in the table and the chart: the
// download rate against JS's, the first peer no later than JS's, and the
// same through the CLI, for reference.
func TestDHTRows(t *testing.T) {
	got := map[string][]float64{
		"hsp/dht-1k": {22000, 15000, 18000}, "js/dht-1k": {2100, 2000, 2050},
		"hsp/dht-1k-first-peer": {40, 90, 60}, "js/dht-1k-first-peer": {80, 130, 110},
		"hsp/dht-1k-cli": {16000}, "hsp/dht-1k-cli-first-peer": {70},
		"hsp/dht-1k-self": {24000}, "hsp/dht-1k-first-progress": {150},
	}
	rs, err := selectRows(rows(defaultParams), "dht-1k")
	if err != nil || len(rs) != 4 {
		t.Fatalf("selectRows(dht-1k) = %d rows, %v", len(rs), err)
	}
	outs := evaluate(rs, got, lineupDefault)
	var b bytes.Buffer
	if err := writeTable(&b, report{Rows: outs}); err != nil {
		t.Fatal(err)
	}
	table := squeeze(b.String())
	for _, want := range []string{
		"| via the DHT, 10000 × 1 KiB, hsp ↔ hsp: key → every block | blocks/s | 18,000 (15,000–22,000) | 2,050 (2,000–2,100) | 8.78× | ≥ 10× JS ↔ JS | 8.78× | **no** |",
		"| via the DHT, 10000 × 1 KiB, hsp ↔ hsp: key → first peer | ms | 60.0 (40.0–90.0) | 110 (80.0–130) | 0.55× | ≤ 1× JS ↔ JS | 0.55× | yes |",
		"| via the DHT, 10000 × 1 KiB, hsp ↔ hsp via the CLI: key → every block | blocks/s | 16,000 | 2,050 (2,000–2,100) | 7.80× | none (for reference) |",
		"| via the DHT, 10000 × 1 KiB, hsp ↔ hsp via the CLI: key → first peer | ms | 70.0 | 110 (80.0–130) | 0.64× | none (for reference) |",
		"Through the DHT: every run has its own DHT",
		"HS_BENCH_ALLOW_LOOPBACK_PEERS=1",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "counting TCP proxy") {
		t.Error("the DHT rows got the replication note")
	}
	ms := measurements(got)
	if s := ms["hsp/dht-1k-first-progress"]; s.Unit != unitMs || s.Median != 150 {
		t.Errorf("JSON-only measurement %+v", s)
	}
	panels := chartPanels(outs, lineupDefault)
	if len(panels) != 2 || panels[0].Unit != unitRate || panels[1].Unit != unitMs || len(panels[0].Bars) != 2 || len(panels[1].Bars) != 2 {
		t.Fatalf("chart panels %+v", panels)
	}
	var svg bytes.Buffer
	if err := drawChart(&svg, chartSeriesOf(lineupDefault), panels, "t", "s"); err != nil ||
		!strings.Contains(svg.String(), "time, ms (lower is better)") || !strings.Contains(svg.String(), "key → first peer") {
		t.Errorf("chart: %v", err)
	}
}
