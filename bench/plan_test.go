package main

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestScaled(t *testing.T) {
	p := defaultParams.scaled(0.05)
	if p.Append1N != 500 || p.Append8N%8 != 0 || p.Append100N%100 != 0 || p.Append64kN != 300 || p.Spawns != 1 || p.Cores != 50 {
		t.Errorf("scaled(0.05) = %+v", p)
	}
	tiny := defaultParams.scaled(1e-9)
	if tiny.Append1N != 1 || tiny.Append8N != 8 || tiny.Append100N != 100 || tiny.Spawns != 1 {
		t.Errorf("scaled(1e-9) = %+v: every count must stay at least one unit", tiny)
	}
	if defaultParams.scaled(1) != defaultParams {
		t.Error("scaled(1) changed the defaults")
	}
}

func TestSelectRows(t *testing.T) {
	all := rows(defaultParams)
	got, err := selectRows(all, "append-1k-x8, read-get")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Workload != "append-1k-x8" || got[2].Workload != "read-get" {
		t.Errorf("selectRows picked %+v", got)
	}
	if _, err := selectRows(all, "append-2k"); err == nil {
		t.Error("an unknown workload was accepted")
	}
	if got, _ := selectRows(all, ""); len(got) != len(all) {
		t.Error("no -only does not select everything")
	}
}

var (
	lineupDefault = lineup{HSP: []string{sideHSP}, JS: true}
	lineupAB      = lineup{HSP: []string{sideHSP, sideHSPB}, JS: true}
	lineupABNoJS  = lineup{HSP: []string{sideHSP, sideHSPB}}
)

// TestJobsCoverRows checks that every figure a row reads is measured by
// some job, and that -only runs no more than it needs.
func TestJobsCoverRows(t *testing.T) {
	p := defaultParams
	for _, l := range []lineup{lineupDefault, lineupAB} {
		all := jobs(p, l)
		for _, r := range rows(p) {
			for _, k := range neededKeys([]row{r}, l) {
				if len(selectJobs(all, []string{k})) == 0 {
					t.Errorf("%+v: row %q: no job measures %s", l, r.Title, k)
				}
			}
		}
	}
	picked := func(l lineup, only string) []string {
		rs, _ := selectRows(rows(p), only)
		var out []string
		for _, j := range selectJobs(jobs(p, l), neededKeys(rs, l)) {
			out = append(out, j.Group+"/"+j.Side)
		}
		return out
	}
	want := []string{"append-1k-1/js", "append-1k-1-x8/inproc", "append-1k-1-x8/hsp", "append-1k-1-x8/js"}
	if got := picked(lineupDefault, "append-1k-x8"); !slices.Equal(got, want) {
		t.Errorf("jobs for append-1k-x8 = %v, want %v", got, want)
	}
	// Both builds' 8-client targets are against 8 writers in-process.
	want = []string{"append-1k-1/js", "append-1k-1-x8/inproc", "append-1k-1-x8/hsp", "append-1k-1-x8/hsp-b", "append-1k-1-x8/js"}
	if got := picked(lineupAB, "append-1k-x8"); !slices.Equal(got, want) {
		t.Errorf("A/B jobs for append-1k-x8 = %v, want %v", got, want)
	}
	want = []string{"append-1k-1/inproc", "append-1k-1/hsp", "append-1k-1/hsp-b", "read/hsp", "read/hsp-b"}
	if got := picked(lineupABNoJS, "append-1k,read-get"); !slices.Equal(got, want) {
		t.Errorf("A/B jobs without JS = %v, want %v", got, want)
	}
}

// TestRoundsAlternateBuilds checks that A and B, like the sides, swap
// places every round.
func TestRoundsAlternateBuilds(t *testing.T) {
	var ran []string
	js := []job{}
	for _, side := range []string{sideInproc, sideHSP, sideHSPB} {
		js = append(js, job{"g", side, []string{mAppend1}, func(context.Context, *env) (samples, error) {
			ran = append(ran, side)
			return samples{mAppend1: {1}}, nil
		}})
	}
	res := runRounds(context.Background(), &env{}, js, 3, io.Discard)
	want := []string{"inproc", "hsp", "hsp-b", "hsp-b", "hsp", "inproc", "inproc", "hsp", "hsp-b"}
	if !slices.Equal(ran, want) || len(res.Samples["hsp-b/append-1k-1"]) != 3 {
		t.Errorf("ran %v, want %v; samples %v", ran, want, res.Samples)
	}
}

func TestWithoutJS(t *testing.T) {
	rs := withoutJS(rows(defaultParams))
	node := 0
	for _, r := range rows(defaultParams) {
		if needsNode[r.Metric] {
			node++
		}
	}
	if node != 8 || len(rs) != len(rows(defaultParams))-1-node || slices.ContainsFunc(rs, func(r row) bool { return r.RefLabel == "JS 1 client" }) {
		t.Errorf("withoutJS kept %d rows", len(rs))
	}
	if !slices.ContainsFunc(rs, func(r row) bool { return r.Workload == "read-get" }) {
		t.Error("withoutJS dropped read-get, whose hsp figure no other row shows")
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.hsp != "" || o.hspB != "" || !o.js || o.lineup().ab() {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-hsp", "/tmp/a", "-hsp-b", "/tmp/b", "-js=false"}, io.Discard)
	if err != nil || o.hsp != "/tmp/a" || o.hspB != "/tmp/b" || o.js {
		t.Errorf("A/B flags: %+v, %v", o, err)
	}
	if l := o.lineup(); !slices.Equal(l.HSP, []string{sideHSP, sideHSPB}) || l.JS {
		t.Errorf("A/B lineup %+v", l)
	}
}

func TestResolveBinary(t *testing.T) {
	if _, err := resolveBinary("-hsp", "/nonexistent/hsp"); err == nil {
		t.Error("a missing binary was accepted")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := resolveBinary("-hsp", self)
	if err != nil || got != self {
		t.Errorf("resolveBinary(%s) = %q, %v", self, got, err)
	}
	b, err := describeBuild(build{Name: "A", Side: sideHSP, Path: self})
	if err != nil || len(b.SHA256) != 64 || !strings.HasPrefix(b.describe(), "A: "+self+" (sha256 "+b.SHA256[:12]) {
		t.Errorf("describeBuild: %+v, %v", b, err)
	}
}

func TestAppendShare(t *testing.T) {
	a := appendSpec{n: 10, clients: 3}
	total := 0
	for i := range a.clients {
		total += a.share(i)
	}
	if total != 10 || a.share(0) != 4 || a.share(2) != 3 {
		t.Errorf("shares of 10 over 3: %d, %d, %d", a.share(0), a.share(1), a.share(2))
	}
}

func TestBlockSource(t *testing.T) {
	s := newBlockSource(0, 64<<10)
	a, b := s.next(), s.next()
	if len(a) != 64<<10 || &a[0] == &b[0] || string(a) == string(b) {
		t.Error("consecutive blocks are not distinct windows")
	}
	for range 2 * poolSize / (64 << 10) {
		if len(s.next()) != 64<<10 {
			t.Fatal("short block after wrapping")
		}
	}
}
