package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Sides of a measurement.
const (
	sideHSP    = "hsp"    // the hsp daemon through package rpc (build A when there are two)
	sideHSPB   = "hsp-b"  // the same with the second hsp binary, build B (-hsp-b)
	sideJS     = "js"     // the JS Hyperspace 3.19 daemon through @hyperspace/client
	sideInproc = "inproc" // core/store opened in this process
)

// lineup is what a run compares: one or two hsp builds and, unless -js=false, JS.
type lineup struct {
	HSP []string // the sides of the hsp builds: sideHSP, then sideHSPB with a second build
	JS  bool
}

// ab tells whether the run compares two hsp builds.
func (l lineup) ab() bool { return len(l.HSP) > 1 }

// Units of the metrics; rates are better higher, the others lower.
const (
	unitRate = "blocks/s"
	unitMs   = "ms"
	unitMiB  = "MiB"
	unitWire = "MiB wire" // bytes on the wire, both directions, in MiB
)

// Metric names, the same on every side; a measurement is side/metric.
const (
	mAppend1     = "append-1k-1"
	mAppend1x8   = "append-1k-1-x8"
	mAppend100   = "append-1k-100"
	mAppend64k   = "append-64k-100"
	mReadGet     = "read-get"
	mReadStream  = "read-stream"
	mSpawnStatus = "spawn-status"
	mIdleRSS     = "idle-rss"
	mCoresRSS    = "cores-rss"
)

// The metrics of the replication workloads are those of replShapes (see
// repl.go): per shape, "repl-1k" is a download's blocks/s (hsp → hsp on
// the hsp sides, JS → JS on the JS side, the in-process verify+import
// ceiling on the in-process side), "repl-1k-from-js" hsp downloading from
// JS, "repl-1k-to-js" JS downloading from hsp, and each with "-wire" the
// bytes on the wire (with "-up" and "-down", downloader → server and
// server → downloader, in the JSON file only).

// units maps each metric to its unit.
var units = map[string]string{
	mAppend1: unitRate, mAppend1x8: unitRate, mAppend100: unitRate, mAppend64k: unitRate,
	mReadGet: unitRate, mReadStream: unitRate,
	mSpawnStatus: unitMs, mIdleRSS: unitMiB, mCoresRSS: unitMiB,
}

func init() {
	for _, sh := range replShapes {
		for _, m := range sh.metrics().all() {
			units[m] = unitRate
			if strings.Contains(m, "-wire") {
				units[m] = unitWire
			}
		}
	}
}

// needsNode lists the metrics whose jobs run node on an hsp side (JS → hsp,
// hsp → JS): without JS they are not measured and their rows are dropped.
var needsNode = map[string]bool{}

func init() {
	for _, sh := range replShapes {
		m := sh.metrics()
		for _, k := range []string{m.fromJS, m.toJS, m.fromJSWire, m.toJSWire} {
			needsNode[k] = true
		}
	}
}

// params are the sizes of the workloads; defaultParams at -scale 1.
type params struct {
	Append1N   int           `json:"append1"`           // 1 KiB blocks appended one per call, one client
	Append8N   int           `json:"append1x8"`         // the same over 8 clients, in all
	Append100N int           `json:"append100"`         // 1 KiB blocks appended 100 per call
	Append64kN int           `json:"append64k"`         // 64 KiB blocks appended 100 per call
	ReadN      int           `json:"read"`              // 1 KiB blocks streamed (and written first)
	ReadGetN   int           `json:"readGet"`           // of those, read one get per block
	Spawns     int           `json:"spawns"`            // spawn → status samples per round
	Cores      int           `json:"cores"`             // cores held open for the RSS measurement
	Settle     time.Duration `json:"settleNanoseconds"` // idle time before an RSS reading
	Repl1kN    int           `json:"repl1k"`            // 1 KiB blocks replicated
	Repl64kN   int           `json:"repl64k"`           // 64 KiB blocks replicated
	DHT1kN     int           `json:"dht1k"`             // 1 KiB blocks replicated through the DHT
	DHT64kN    int           `json:"dht64k"`            // 64 KiB blocks replicated through the DHT
}

var defaultParams = params{
	Append1N: 10_000, Append8N: 40_000, Append100N: 200_000, Append64kN: 5000,
	ReadN: 100_000, ReadGetN: 20_000, Spawns: 5, Cores: 1000, Settle: 2 * time.Second,
	Repl1kN: 10_000, Repl64kN: 2000, DHT1kN: 10_000, DHT64kN: 2000,
}

// scaled shrinks (or grows) the counts by scale; batched counts stay
// multiples of 100 and the 8-client count a multiple of 8; so do the
// replicated counts, through the DHT too (the servers append 100 blocks
// per call).
func (p params) scaled(scale float64) params {
	n := func(v, multiple int) int {
		s := int(math.Round(float64(v)*scale/float64(multiple))) * multiple
		return max(s, multiple)
	}
	return params{
		Append1N: n(p.Append1N, 1), Append8N: n(p.Append8N, 8), Append100N: n(p.Append100N, 100),
		Append64kN: n(p.Append64kN, 100), ReadN: n(p.ReadN, 100), ReadGetN: n(p.ReadGetN, 1),
		Spawns: n(p.Spawns, 1), Cores: n(p.Cores, 1), Settle: p.Settle,
		Repl1kN: n(p.Repl1kN, 100), Repl64kN: n(p.Repl64kN, 100),
		DHT1kN: n(p.DHT1kN, 100), DHT64kN: n(p.DHT64kN, 100),
	}
}

// row is one line of the table: an hsp figure, the JS figure beside it,
// and the target, a ratio of hsp's figure to a reference figure.
type row struct {
	Workload string // what -only selects
	Title    string
	Metric   string // hsp's figure: hsp/Metric
	JS       string // the figure shown beside, a measurement key
	Ref      string // the target's reference, a measurement key
	RefLabel string
	Want     float64 // the ratio hsp/Ref must reach
	AtMost   bool    // hsp/Ref ≤ Want (time, memory, bytes); else ≥ Want
}

// noTarget tells a row shown for reference only: Want 0, no target (and
// Ref "").
func (r row) noTarget() bool { return r.Want == 0 }

func key(side, metric string) string { return side + "/" + metric }

// refFor is the row's reference for the hsp build measured as side: a
// reference that is an hsp figure (8 clients against 1 client) is that
// build's own.
func (r row) refFor(side string) string {
	if m, ok := strings.CutPrefix(r.Ref, sideHSP+"/"); ok {
		return key(side, m)
	}
	return r.Ref
}

// rows lists the workloads and their targets (issue 7, part 4; the
// append rows' as issue 19 raised them; the replication workloads' and the
// DHT's, issue 18).
func rows(p params) []row {
	return slices.Concat([]row{
		{"append-1k", "append 1 KiB, 1 per call, 1 client", mAppend1, key(sideJS, mAppend1), key(sideInproc, mAppend1), "in-process", 0.85, false},
		{"append-1k-x8", "append 1 KiB, 1 per call, 8 clients", mAppend1x8, key(sideJS, mAppend1x8), key(sideInproc, mAppend1x8), "in-process 8 writers", 0.85, false},
		{"append-1k-x8", "append 1 KiB, 1 per call, 8 clients vs JS 1 client", mAppend1x8, key(sideJS, mAppend1), key(sideJS, mAppend1), "JS 1 client", 2, false},
		{"append-1k-b100", "append 1 KiB, 100 per call", mAppend100, key(sideJS, mAppend100), key(sideInproc, mAppend100), "in-process", 0.85, false},
		{"append-64k-b100", "append 64 KiB, 100 per call", mAppend64k, key(sideJS, mAppend64k), key(sideInproc, mAppend64k), "in-process", 0.85, false},
		{"read-get", "sequential read, 1 KiB, get per block", mReadGet, key(sideJS, mReadGet), key(sideJS, mReadGet), "JS", 2, false},
		{"read-stream", "sequential read, 1 KiB, streamed", mReadStream, key(sideJS, mReadStream), key(sideJS, mReadStream), "JS", 5, false},
		{"spawn-status", "spawn → first status answered", mSpawnStatus, key(sideJS, mSpawnStatus), key(sideJS, mSpawnStatus), "JS", 0.25, true},
		{"idle-rss", "idle daemon RSS", mIdleRSS, key(sideJS, mIdleRSS), key(sideJS, mIdleRSS), "JS", 1.0 / 3, true},
		{"cores-rss", fmt.Sprintf("RSS with %d cores held open", p.Cores), mCoresRSS, key(sideJS, mCoresRSS), key(sideJS, mCoresRSS), "JS", 0.1, true},
	}, replRows(p), dhtRows(p))
}

// replRows are the rows of the replication workloads: per shape, hsp → hsp
// against JS → JS and against the in-process ceiling, JS → hsp against JS →
// JS, hsp → JS for reference, and the bytes on the wire of the three
// downloads hsp takes part in against JS → JS's.
func replRows(p params) []row {
	var rs []row
	for _, sh := range replShapes {
		m, w := sh.metrics(), sh.workload()
		t := fmt.Sprintf("replicate %d × %s", sh.count(p), sh.label)
		jsjs, jsjsWire := key(sideJS, m.hh), key(sideJS, m.hhWire)
		rs = append(rs,
			row{w, t + ", hsp → hsp", m.hh, jsjs, jsjs, "JS → JS", sh.wantVsJS, false},
			row{w, t + ", hsp → hsp", m.hh, jsjs, key(sideInproc, m.hh), "in-process verify+import", 0.5, false},
			row{w, t + ", JS → hsp", m.fromJS, jsjs, jsjs, "JS → JS", 1, false},
			row{w, t + ", hsp → JS", m.toJS, jsjs, "", "", 0, false},
			row{w, t + ", hsp → hsp, on the wire", m.hhWire, jsjsWire, jsjsWire, "JS → JS", 1.1, true},
			row{w, t + ", JS → hsp, on the wire", m.fromJSWire, jsjsWire, jsjsWire, "JS → JS", 1.1, true},
			row{w, t + ", hsp → JS, on the wire", m.toJSWire, jsjsWire, jsjsWire, "JS → JS", 1.1, true},
		)
	}
	return rs
}

// selectRows keeps the rows whose workload -only names; "" keeps all.
func selectRows(all []row, only string) ([]row, error) {
	if only == "" {
		return all, nil
	}
	var out []row
	for _, w := range strings.Split(only, ",") {
		w = strings.TrimSpace(w)
		n := len(out)
		for _, r := range all {
			if r.Workload == w {
				out = append(out, r)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("select workloads: unknown workload %q (known: %s)", w, strings.Join(workloadNames(all), ", "))
		}
	}
	return out, nil
}

func workloadNames(all []row) []string {
	var names []string
	for _, r := range all {
		if !slices.Contains(names, r.Workload) {
			names = append(names, r.Workload)
		}
	}
	return names
}

// withoutJS drops the rows that, with JS not run, would only repeat an
// earlier row's hsp figure without a reference (8 clients vs JS 1 client),
// and those whose hsp figure needs node (JS → hsp, hsp → JS).
func withoutJS(rs []row) []row {
	var out []row
	for i, r := range rs {
		if needsNode[r.Metric] {
			continue
		}
		repeat := slices.ContainsFunc(rs[:i], func(o row) bool { return o.Metric == r.Metric })
		if repeat && strings.HasPrefix(r.Ref, sideJS+"/") {
			continue
		}
		out = append(out, r)
	}
	return out
}

// neededKeys lists every measurement the rows read for the builds of l
// (and JS's, which the jobs of a run without JS do not measure).
func neededKeys(rs []row, l lineup) []string {
	var keys []string
	for _, r := range rs {
		for _, side := range l.HSP {
			for _, k := range []string{key(side, r.Metric), r.JS, r.refFor(side)} {
				if k != "" && !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}
