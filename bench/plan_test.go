package main

import (
	"slices"
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

// TestJobsCoverRows checks that every figure a row reads is measured by
// some job, and that -only runs no more than it needs.
func TestJobsCoverRows(t *testing.T) {
	p := defaultParams
	all := jobs(p)
	for _, r := range rows(p) {
		for _, k := range neededKeys([]row{r}) {
			if len(selectJobs(all, []string{k})) == 0 {
				t.Errorf("row %q: no job measures %s", r.Title, k)
			}
		}
	}
	rs, _ := selectRows(rows(p), "append-1k-x8")
	var picked []string
	for _, j := range selectJobs(all, neededKeys(rs)) {
		picked = append(picked, j.Group+"/"+j.Side)
	}
	want := []string{"append-1k-1/hsp", "append-1k-1/js", "append-1k-1-x8/hsp", "append-1k-1-x8/js"}
	if !slices.Equal(picked, want) {
		t.Errorf("jobs for append-1k-x8 = %v, want %v", picked, want)
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
