// Command bench runs hsp and JS Hyperspace 3.19 side by side on the same
// workloads and compares them with the targets of issue 7:
//
//	go run ./bench [-rounds 3] [-scale 1] [-only append-1k,read-get] [-out bench/results.json] [-chart docs/perf-chart.svg]
//
// It builds hsp from the repository (go build), installs the pinned JS side
// in bench/js (npm ci, when node_modules is missing or stale), then runs
// every workload -rounds times. In each round the sides of a workload take
// turns, in an order that flips every round: hsp's daemon (`hsp --home H
// daemon`, driven through package rpc), the JS daemon (bench/js/run.js,
// which spawns the `hyperspace` bin and drives it through
// @hyperspace/client, all traffic on 127.0.0.1), and, for the append
// targets, core/store opened in this process. Every run gets a fresh
// daemon and an empty home or storage. Blocks are incompressible:
// ChaCha8 output here, crypto.randomBytes in node.
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
// read-get, read-stream, spawn-status, idle-rss, cores-rss.
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
	rs, err := selectRows(rows(p), o.only)
	if err != nil {
		return err
	}
	js := selectJobs(jobs(p), neededKeys(rs))
	e, cleanup, err := prepare(ctx, js, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	res := runRounds(ctx, e, js, o.rounds, stderr)
	outs := evaluate(rs, res.Samples)
	rep := report{
		Machine: describeMachine(ctx, runtime.NumCPU()), Command: commandLine(args), Rounds: o.rounds,
		Scale: o.scale, Params: p, Note: durabilityNote, Rows: outs,
		Measurements: measurements(res.Samples), Errors: res.Errors,
	}
	rep.ElapsedSeconds = time.Since(start).Round(time.Second).Seconds()
	if ctx.Err() != nil {
		writeTable(stdout, rep.Rows)
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

// prepare finds the repository, builds hsp and installs the JS side when
// a job needs it.
func prepare(ctx context.Context, js []job, log io.Writer) (*env, func(), error) {
	root, err := findRoot()
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "hspbench-")
	if err != nil {
		return nil, nil, fmt.Errorf("make temp dir: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	e := &env{root: root, jsDir: filepath.Join(root, "bench", "js"), tmp: tmp}
	fmt.Fprintln(log, "building hsp…")
	if e.hspBin, err = buildHSP(ctx, root, tmp); err != nil {
		cleanup()
		return nil, nil, err
	}
	if needsJS(js) {
		fmt.Fprintln(log, "installing the JS side (npm ci in bench/js when needed)…")
		if err := installJS(ctx, e.jsDir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	return e, cleanup, nil
}

func needsJS(js []job) bool {
	for _, j := range js {
		if j.Side == sideJS {
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
	if err := writeTable(stdout, rep.Rows); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if err := writeJSON(fromRoot(root, o.out), rep); err != nil {
		return err
	}
	f, err := os.Create(fromRoot(root, o.chart))
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	title := fmt.Sprintf("hsp vs JS Hyperspace 3.19: medians of %d rounds", rep.Rounds)
	if rep.Rounds == 1 {
		title = "hsp vs JS Hyperspace 3.19: one round"
	}
	sub := fmt.Sprintf("%s, %d CPUs (%s); hsp fsyncs every append, JS never fsyncs; log scales", rep.Machine.Date[:10], rep.Machine.CPUs, rep.Machine.CPUModel)
	if err := drawChart(f, chartPanels(rep.Rows), title, sub); err != nil {
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
