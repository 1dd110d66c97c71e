// Command bench runs hsp and JS Hyperspace 3.19 side by side on the same
// workloads and compares them with the targets of issue 7:
//
//	go run ./bench [-rounds 3] [-scale 1] [-only append-1k,read-get] [-out bench/results.json] [-chart docs/perf-chart.svg]
//	               [-hsp PATH] [-hsp-b PATH] [-js=false]
//
// It builds hsp from the repository (go build), or takes the binary -hsp
// names, installs the pinned JS side in bench/js (npm ci, when
// node_modules is missing or stale), then runs every workload -rounds
// times. In each round the sides of a workload take turns, in an order
// that flips every round: hsp's daemon (`hsp --home H daemon`, driven
// through package rpc), the JS daemon (bench/js/run.js, which spawns the
// `hyperspace` bin and drives it through @hyperspace/client, all traffic
// on 127.0.0.1), and, for the append targets, core/store opened in this
// process. Every run gets a fresh daemon and an empty home or storage.
// Blocks are incompressible: ChaCha8 output here, crypto.randomBytes in
// node.
//
// It prints a markdown table of medians (min–max over rounds) with the
// ratios and whether each target is met, writes every sample to a JSON
// file, and draws the medians as an SVG chart. docs/performance.md holds a
// full run's results.
//
// hsp runs with its default durability (every append fsynced before it
// returns); JS Hyperspace never fsyncs. -scale shrinks the counts for a
// quick check: `go run ./bench -scale 0.05 -rounds 1`. The workloads -only
// takes: append-1k, append-1k-x8, append-1k-b100, append-64k-b100,
// read-get, read-stream, spawn-status, idle-rss, cores-rss, repl-1k,
// repl-64k, dht-1k, dht-64k.
//
// Replication (repl-1k: 10,000 × 1 KiB blocks, repl-64k: 2,000 × 64 KiB,
// incompressible, the same bytes on every side; repl.go): a whole core is
// downloaded over TCP on 127.0.0.1 into fresh storage, from a server on
// fresh storage, and the downloader verifies every block. Five ways, which
// take turns in a round as the sides of the other workloads do:
//
//   - hsp → hsp: daemon A (`hsp --home HA daemon --swarm-host 127.0.0.1
//     --swarm-port PA`) holds the blocks (appended through package rpc,
//     untimed); timed is `hsp --home HB --json replicate KEY --peer
//     127.0.0.1:P`, against a second daemon B, from its start until it exits 0
//     (every block verified and synced); then B's blocks are read back
//     through package rpc and compared.
//   - JS → JS: bench/js/repl-serve.js (hypercore 9.12 on disk, live
//     stream, as Hyperspace) serves, bench/js/repl-download.js (hypercore
//     9.12 on random-access-file, never fsynced) downloads; timed is what
//     the downloader reports, from its connect until 'sync' with every
//     block, then it compares every block with the served file.
//   - JS → hsp: repl-serve.js serves, `hsp replicate` downloads.
//   - hsp → JS: daemon A serves, repl-download.js downloads.
//   - the ceiling, in this process: the Data messages of the download
//     (proofs from an in-memory writer, digests of a reader that took the
//     batches before) imported with core.ImportBatch, in batches of 512
//     blocks or 8 MiB like the daemon's importer, into a core/store store
//     on disk.
//
// Every download goes through a counting TCP proxy in this process; its
// bytes in both directions are the "on the wire" rows (the JSON file adds
// -up, downloader → server, and -down). The targets: hsp → hsp ≥ 10× JS →
// JS (1 KiB) and ≥ 1.5× (64 KiB), hsp → hsp ≥ 50% of the ceiling, JS → hsp
// ≥ 1× JS → JS, and each download hsp takes part in within 1.1× JS → JS's
// bytes; hsp → JS has no target. An hsp without `hsp replicate` (or
// without --swarm-host/--swarm-port) fails the hsp rows, it does not skip
// them. To leave the committed results alone while trying them:
//
//	go run ./bench -only repl-1k,repl-64k -rounds 3 -out /tmp/repl.json -chart /tmp/repl.svg
//
// Through the DHT (dht-1k: 10,000 × 1 KiB, dht-64k: 2,000 × 64 KiB, the
// blocks of the replication workloads; dht.go): B is given only the key
// of a core that A holds and announces, finds A through a local DHT and
// downloads all of it. Every run has its own DHT, one persistent
// bootstrap node on 127.0.0.1, and never the public one:
//
//   - hsp ↔ hsp: `hsp dht --host 127.0.0.1 --port 0 --json` bootstraps
//     daemons A and B (--bootstrap 127.0.0.1:P, --swarm-host 127.0.0.1).
//     A's blocks are appended through package rpc and seeded
//     (Client.Seed), and the run waits for A's first announce round (its
//     topic's rounds ≥ 1) and for B's DHT node to be bootstrapped. Timed is
//     `hsp --home HB --json replicate KEY` (no --peer) from its exec: to
//     the first peer, when B's peer-add event of the core (subscribed to
//     through package rpc before the exec) reaches this process, and to
//     its exit 0. Then B's blocks are compared.
//   - JS ↔ JS: bench/js/dht-replicate.js, with an @hyperswarm/dht 4.0.1
//     bootstrap node and two JS Hyperspace daemons allowed to replicate
//     over 127.0.0.1 (HS_BENCH_ALLOW_LOOPBACK_PEERS=1: lib/loopback.js
//     removes @corestore/networker's check in memory; the bench runs
//     unprivileged, without network namespaces). A announces, flushed;
//     timed from B's get(key) to its first 'peer-add' and until
//     download() of every block resolves. Then B's blocks are compared.
//
// The targets: hsp ↔ hsp's download ≥ 10× JS ↔ JS's rate (1 KiB) and
// ≥ 1.5× (64 KiB), and its first peer no later than JS's. The committed
// results of these two are written apart from the others:
//
//	go run ./bench -only dht-1k,dht-64k -rounds 5 -out bench/results-dht.json -chart docs/perf-dht.svg
//
// Before/after: -hsp-b PATH adds a second hsp binary, build B, beside
// build A (-hsp's binary, or the one built from the repository). B runs
// every hsp job too, next to A, and the two swap places every round as the
// sides do. The table then shows A's and B's medians, B/A, and each
// build's target outcome; the JSON rows add "hspB" and "bOverA", and the
// chart a bar for B. -js=false leaves JS Hyperspace out (no node needed):
//
//	go run ./bench -hsp /tmp/hsp-before -hsp-b /tmp/hsp-after -js=false -out /tmp/ab.json -chart /tmp/ab.svg
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	rounds int
	scale  float64
	only   string
	out    string
	chart  string
	hsp    string // the hsp binary (build A with hspB); "" builds one
	hspB   string // a second hsp binary, build B; "" for none
	js     bool   // run JS Hyperspace too
}

// lineup is what the flags ask to compare.
func (o options) lineup() lineup {
	l := lineup{HSP: []string{sideHSP}, JS: o.js}
	if o.hspB != "" {
		l.HSP = append(l.HSP, sideHSPB)
	}
	return l
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of every workload; the table shows medians")
	fs.Float64Var(&o.scale, "scale", 1, "multiply every block count by this (0.05 for a quick check)")
	fs.StringVar(&o.only, "only", "", "comma-separated workloads to run (default all)")
	fs.StringVar(&o.out, "out", "bench/results.json", "JSON results file (relative paths are from the repository root)")
	fs.StringVar(&o.chart, "chart", "docs/perf-chart.svg", "SVG chart file (relative paths are from the repository root)")
	fs.StringVar(&o.hsp, "hsp", "", "measure the hsp binary at `PATH` (or a name in $PATH) instead of building the repository;\n"+
		"with -hsp-b it is build A")
	fs.StringVar(&o.hspB, "hsp-b", "", "also measure the hsp binary at `PATH` as build B, beside build A (-hsp's binary, or the\n"+
		"repository's): A and B swap places every round, and the table, JSON and chart add B's medians,\n"+
		"B/A and B's targets (pass -out and -chart elsewhere to keep the committed results)")
	fs.BoolVar(&o.js, "js", true, "run JS Hyperspace 3.19 too (needs node and npm); -js=false measures hsp and in-process only")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.rounds < 1 || o.scale <= 0 || fs.NArg() > 0 {
		return o, fmt.Errorf("parse flags: -rounds must be ≥ 1, -scale > 0, and no arguments")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	p := defaultParams.scaled(o.scale)
	l := o.lineup()
	rs, err := selectRows(rows(p), o.only)
	if err != nil {
		return err
	}
	if !l.JS {
		rs = withoutJS(rs)
	}
	js := selectJobs(jobs(p, l), neededKeys(rs, l))
	e, cleanup, err := prepare(ctx, o, js, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	res := runRounds(ctx, e, js, o.rounds, stderr)
	outs := evaluate(rs, res.Samples, l)
	rep := report{
		Machine: describeMachine(ctx, runtime.NumCPU()), Command: commandLine(args), Rounds: o.rounds,
		Scale: o.scale, Params: p, Builds: e.builds, SkipJS: !l.JS, Note: note(l, outs), Rows: outs,
		Measurements: measurements(res.Samples), Errors: res.Errors,
	}
	rep.ElapsedSeconds = time.Since(start).Round(time.Second).Seconds()
	if ctx.Err() != nil {
		writeTable(stdout, rep)
		return fmt.Errorf("interrupted: %s and %s left as they were", o.out, o.chart)
	}
	if err := writeOutputs(e.root, o, rep, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "took %s\n", time.Since(start).Round(time.Second))
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d runs failed:\n  %s", len(res.Errors), strings.Join(res.Errors, "\n  "))
	}
	return nil
}

// prepare finds the repository and the hsp binaries (building hsp unless
// -hsp names one) and installs the JS side when a job needs it.
func prepare(ctx context.Context, o options, js []job, log io.Writer) (*env, func(), error) {
	root, err := findRoot()
	if err != nil {
		return nil, nil, err
	}
	a := build{Name: "hsp", Side: sideHSP}
	if o.hspB != "" {
		a.Name = "A"
	}
	builds := []build{a}
	if o.hsp != "" {
		if builds[0].Path, err = resolveBinary("-hsp", o.hsp); err != nil {
			return nil, nil, err
		}
	}
	if o.hspB != "" {
		b := build{Name: "B", Side: sideHSPB}
		if b.Path, err = resolveBinary("-hsp-b", o.hspB); err != nil {
			return nil, nil, err
		}
		builds = append(builds, b)
	}
	tmp, err := os.MkdirTemp("", "hspbench-")
	if err != nil {
		return nil, nil, fmt.Errorf("make temp dir: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	e := &env{root: root, jsDir: filepath.Join(root, "bench", "js"), tmp: tmp}
	if builds[0].Path == "" {
		fmt.Fprintln(log, "building hsp…")
		if builds[0].Path, err = buildHSP(ctx, root, tmp); err != nil {
			cleanup()
			return nil, nil, err
		}
		builds[0].Built = true
	}
	for i := range builds {
		if builds[i], err = describeBuild(builds[i]); err != nil {
			cleanup()
			return nil, nil, err
		}
		if len(builds) > 1 || !builds[i].Built {
			fmt.Fprintf(log, "hsp %s\n", builds[i].describe())
		}
	}
	e.builds = builds
	if needsJS(js) {
		fmt.Fprintln(log, "installing the JS side (npm ci in bench/js when needed)…")
		if err := installJS(ctx, e.jsDir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	return e, cleanup, nil
}

// needsJS tells whether a job runs node: a JS job, or an hsp job against
// a JS peer.
func needsJS(js []job) bool {
	for _, j := range js {
		if j.Side == sideJS || slices.ContainsFunc(j.Metrics, func(m string) bool { return needsNode[m] }) {
			return true
		}
	}
	return false
}

func commandLine(args []string) string {
	return strings.TrimSpace("go run ./bench " + strings.Join(args, " "))
}

// writeOutputs prints the table and writes the JSON file and the chart.
func writeOutputs(root string, o options, rep report, stdout io.Writer) error {
	if err := writeTable(stdout, rep); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if err := writeJSON(fromRoot(root, o.out), rep); err != nil {
		return err
	}
	f, err := os.Create(fromRoot(root, o.chart))
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	title, sub := chartTitles(rep)
	if err := drawChart(f, chartSeriesOf(rep.lineup()), chartPanels(rep.Rows, rep.lineup()), title, sub); err != nil {
		f.Close()
		return fmt.Errorf("write chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}

func fromRoot(root, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(root, path)
}
