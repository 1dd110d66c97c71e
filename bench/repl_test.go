package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestCountingProxy relays to an echo server and counts each direction.
func TestCountingProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.(*net.TCPConn).CloseWrite() }()
		}
	}()
	px, err := startProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("hsp"), 100_000)
	for range 2 {
		c, err := net.Dial("tcp", px.addr())
		if err != nil {
			t.Fatal(err)
		}
		go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo through the proxy: %d bytes, %v", len(got), err)
		}
	}
	if up, down := px.bytes(); up != int64(2*len(msg)) || down != int64(2*len(msg)) {
		t.Errorf("counted %d up, %d down; want %d each", up, down, 2*len(msg))
	}
	if err := px.close(); err != nil {
		t.Error(err)
	}
}

// TestCountingProxyUpstreamDown reports a dial of a dead upstream.
func TestCountingProxyUpstreamDown(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	px, err := startProxy(net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", px.addr())
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(c)
	c.Close()
	if err := px.close(); err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("close = %v, want the failed dial", err)
	}
}

// TestReplCeiling runs the in-process ceiling at a small size, for both
// block sizes (64 KiB blocks make batches bounded by bytes).
func TestReplCeiling(t *testing.T) {
	e := &env{tmp: t.TempDir()}
	for _, sh := range []struct{ n, size int }{{1100, 1 << 10}, {300, 64 << 10}} {
		s, err := replCeiling(context.Background(), e, "m", sh.n, sh.size)
		if err != nil {
			t.Fatal(err)
		}
		if len(s["m"]) != 1 || s["m"][0] <= 0 {
			t.Errorf("%d × %d: samples %v", sh.n, sh.size, s)
		}
		d, err := replBlocks(e, sh.n, sh.size)
		if err != nil || len(d.blocks) != sh.n || len(d.blocks[0]) != sh.size || bytes.Equal(d.blocks[0], d.blocks[1]) {
			t.Errorf("replBlocks(%d, %d): %v", sh.n, sh.size, err)
		}
	}
}

// TestReplBatches checks the import batches keep the importer's bounds.
func TestReplBatches(t *testing.T) {
	e := &env{tmp: t.TempDir()}
	for _, sh := range []struct{ n, size, wantBatch int }{{1100, 1 << 10, 512}, {300, 64 << 10, 128}} {
		d, err := replBlocks(e, sh.n, sh.size)
		if err != nil {
			t.Fatal(err)
		}
		_, batches, err := replBatches(context.Background(), d.blocks)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, b := range batches {
			total += len(b)
			if len(b) > sh.wantBatch {
				t.Errorf("%d × %d: a batch of %d blocks", sh.n, sh.size, len(b))
			}
		}
		if total != sh.n || len(batches[0]) != min(sh.n, sh.wantBatch) {
			t.Errorf("%d × %d: %d blocks in %d batches, the first of %d", sh.n, sh.size, total, len(batches), len(batches[0]))
		}
	}
}

// TestReplJobs checks that without JS no job runs node, and that with JS
// the jobs against a JS peer count as needing it.
func TestReplJobs(t *testing.T) {
	p := defaultParams
	for _, j := range jobs(p, lineup{HSP: []string{sideHSP}}) {
		if needsJS([]job{j}) {
			t.Errorf("without JS, job %s/%s %v needs node", j.Group, j.Side, j.Metrics)
		}
	}
	var groups []string
	for _, j := range jobs(p, lineupDefault) {
		if strings.HasPrefix(j.Group, "repl-") {
			groups = append(groups, j.Group+"/"+j.Side+"/"+j.Metrics[0])
		}
	}
	want := []string{
		"repl-1k/inproc/repl-1k", "repl-1k/hsp/repl-1k", "repl-1k/js/repl-1k", "repl-1k/hsp/repl-1k-from-js", "repl-1k/hsp/repl-1k-to-js",
		"repl-64k/inproc/repl-64k", "repl-64k/hsp/repl-64k", "repl-64k/js/repl-64k", "repl-64k/hsp/repl-64k-from-js", "repl-64k/hsp/repl-64k-to-js",
	}
	if !slices.Equal(groups, want) {
		t.Errorf("replication jobs %v, want %v", groups, want)
	}
	for _, m := range []string{"repl-1k", "repl-64k-to-js-wire", "repl-1k-wire-up"} {
		if units[m] == "" {
			t.Errorf("metric %s has no unit", m)
		}
	}
}

// TestReplRows checks the replication rows' targets in the table and the
// chart: the wire target as "≤ 1.1×", the reference-only row without one.
func TestReplRows(t *testing.T) {
	got := map[string][]float64{
		"hsp/repl-1k": {40000}, "js/repl-1k": {3000}, "inproc/repl-1k": {60000},
		"hsp/repl-1k-from-js": {2900}, "hsp/repl-1k-to-js": {3500},
		"hsp/repl-1k-wire": {10.5}, "js/repl-1k-wire": {10.2},
		"hsp/repl-1k-from-js-wire": {10.2}, "hsp/repl-1k-to-js-wire": {12},
	}
	rs, err := selectRows(rows(defaultParams), "repl-1k")
	if err != nil || len(rs) != 7 {
		t.Fatalf("selectRows(repl-1k) = %d rows, %v", len(rs), err)
	}
	outs := evaluate(rs, got, lineupDefault)
	var b bytes.Buffer
	if err := writeTable(&b, report{Rows: outs}); err != nil {
		t.Fatal(err)
	}
	table := squeeze(b.String())
	for _, want := range []string{
		"| replicate 10000 × 1 KiB, hsp → hsp | blocks/s | 40,000 | 3,000 | 13.33× | ≥ 10× JS → JS | 13.33× | yes |",
		"| replicate 10000 × 1 KiB, hsp → hsp | blocks/s | 40,000 | 3,000 | 13.33× | ≥ 50% of in-process verify+import | 66.7% | yes |",
		"| replicate 10000 × 1 KiB, JS → hsp | blocks/s | 2,900 | 3,000 | 0.97× | ≥ 1× JS → JS | 0.97× | **no** |",
		"| replicate 10000 × 1 KiB, hsp → JS | blocks/s | 3,500 | 3,000 | 1.17× | none (for reference) | — | — |",
		"| replicate 10000 × 1 KiB, hsp → hsp, on the wire | MiB wire | 10.5 | 10.2 | 1.03× | ≤ 1.1× JS → JS | 1.03× | yes |",
		"| replicate 10000 × 1 KiB, hsp → JS, on the wire | MiB wire | 12.0 | 10.2 | 1.18× | ≤ 1.1× JS → JS | 1.18× | **no** |",
		"counting TCP proxy",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	panels := chartPanels(outs, lineupDefault)
	if len(panels) != 2 || panels[1].Unit != unitWire || len(panels[0].Bars) != 3 || len(panels[1].Bars) != 3 {
		t.Fatalf("chart panels %+v", panels)
	}
	if ts := panels[0].Bars[0].Targets; len(ts) != 2 {
		t.Errorf("hsp → hsp bar: targets %+v, want both", ts)
	}
	if ts := panels[0].Bars[2].Targets; len(ts) != 0 {
		t.Errorf("hsp → JS bar: targets %+v, want none", ts)
	}
	var svg bytes.Buffer
	if err := drawChart(&svg, chartSeriesOf(lineupDefault), panels, "t", "s"); err != nil || !strings.Contains(svg.String(), "bytes on the wire") {
		t.Errorf("chart: %v", err)
	}
}

// TestReplicateDone accepts the contract's done record and the one hsp
// prints, and refuses a short download.
func TestReplicateDone(t *testing.T) {
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{`{"type":"done","blocks":10,"bytes":10240}`, true},
		{`{"type":"done","start":0,"end":10,"have":10,"downloadedBlocks":10,"downloadedBytes":10240,"peers":1}`, true},
		{`{"type":"done","have":9,"downloadedBlocks":9,"downloadedBytes":9216}`, false},
		{`{"type":"done","blocks":10}`, false},
		{`{"type":"progress","blocks":10,"bytes":10240}`, false},
	} {
		var d replicateDone
		if err := json.Unmarshal([]byte(c.line), &d); err != nil {
			t.Fatal(err)
		}
		if err := d.check(10, 1024); (err == nil) != c.ok {
			t.Errorf("%s: check = %v", c.line, err)
		}
	}
}
