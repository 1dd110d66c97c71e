package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// The replication workloads: a whole core of incompressible blocks
// downloaded over TCP on 127.0.0.1 by a downloader with fresh storage,
// from a server with fresh storage, every block verified by the
// downloader:
//
//	hsp → hsp  daemon A serves (its swarm port), `hsp --home B replicate KEY --peer` downloads into daemon B
//	JS → JS    bench/js/repl-serve.js serves, bench/js/repl-download.js downloads (hypercore 9 on disk)
//	JS → hsp   repl-serve.js serves, `hsp replicate` downloads into daemon B
//	hsp → JS   daemon A serves, repl-download.js downloads
//	ceiling    core.ImportBatch of the download's Data messages into a core/store store, in process
//
// Every side serves the same blocks: ChaCha8 output the bench writes to a
// file that repl-serve.js appends and repl-download.js compares with. A
// counting proxy (proxy.go) sits between every downloader and its server.

// replShape is one replication workload: count(p) blocks of size bytes.
type replShape struct {
	name     string // "1k": the workload is repl-1k, its metrics repl-1k...
	label    string // "1 KiB"
	size     int
	count    func(p params) int
	wantVsJS float64 // hsp → hsp's target against JS → JS
}

var replShapes = []replShape{
	{"1k", "1 KiB", 1 << 10, func(p params) int { return p.Repl1kN }, 10},
	{"64k", "64 KiB", 64 << 10, func(p params) int { return p.Repl64kN }, 1.5},
}

func (sh replShape) workload() string { return "repl-" + sh.name }

// replMetrics are a shape's metric names.
type replMetrics struct {
	hh, fromJS, toJS             string // blocks/s: hsp → hsp (JS → JS, ceiling), JS → hsp, hsp → JS
	hhWire, fromJSWire, toJSWire string // MiB on the wire of the same downloads
}

func (sh replShape) metrics() replMetrics {
	w := sh.workload()
	return replMetrics{
		hh: w, fromJS: w + "-from-js", toJS: w + "-to-js",
		hhWire: w + "-wire", fromJSWire: w + "-from-js-wire", toJSWire: w + "-to-js-wire",
	}
}

// wireMetrics are the metrics a download's bytes on the wire fill: the
// total, then downloader → server and server → downloader.
func wireMetrics(wire string) []string { return []string{wire, wire + "-up", wire + "-down"} }

// all lists every metric of the shape.
func (m replMetrics) all() []string {
	out := []string{m.hh, m.fromJS, m.toJS, m.hh + selfSuffix, m.fromJS + selfSuffix}
	for _, w := range []string{m.hhWire, m.fromJSWire, m.toJSWire} {
		out = append(out, wireMetrics(w)...)
	}
	return out
}

// replJobs are a shape's jobs, in the order of a round: the ceiling, hsp →
// hsp per build, JS → JS, then, with JS, JS → hsp and hsp → JS per build.
// A failure names its download.
func replJobs(p params, l lineup, sh replShape) []job {
	m, n, g := sh.metrics(), sh.count(p), sh.workload()
	with := func(metric, wire string) []string { return append([]string{metric}, wireMetrics(wire)...) }
	named := func(what string, s samples, err error) (samples, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return s, nil
	}
	hspJobs := func(what string, metrics []string, run func(ctx context.Context, e *env, bin string) (samples, error)) []job {
		var js []job
		for _, side := range l.HSP {
			js = append(js, job{g, side, metrics, func(ctx context.Context, e *env) (samples, error) {
				s, err := run(ctx, e, e.bin(side))
				return named(what, s, err)
			}})
		}
		return js
	}
	all := []job{{g, sideInproc, []string{m.hh}, func(ctx context.Context, e *env) (samples, error) {
		s, err := replCeiling(ctx, e, m.hh, n, sh.size)
		return named("ceiling", s, err)
	}}}
	all = append(all, hspJobs("hsp → hsp", append(with(m.hh, m.hhWire), m.hh+selfSuffix), func(ctx context.Context, e *env, bin string) (samples, error) {
		return replHSPToHSP(ctx, e, bin, m.hh, m.hhWire, n, sh.size)
	})...)
	if !l.JS {
		return all
	}
	all = append(all, job{g, sideJS, with(m.hh, m.hhWire), func(ctx context.Context, e *env) (samples, error) {
		s, err := replJSToJS(ctx, e, m.hh, m.hhWire, n, sh.size)
		return named("JS → JS", s, err)
	}})
	all = append(all, hspJobs("JS → hsp", append(with(m.fromJS, m.fromJSWire), m.fromJS+selfSuffix), func(ctx context.Context, e *env, bin string) (samples, error) {
		return replJSToHSP(ctx, e, bin, m.fromJS, m.fromJSWire, n, sh.size)
	})...)
	return append(all, hspJobs("hsp → JS", with(m.toJS, m.toJSWire), func(ctx context.Context, e *env, bin string) (samples, error) {
		return replHSPToJS(ctx, e, bin, m.toJS, m.toJSWire, n, sh.size)
	})...)
}

// selfSuffix marks, for the downloads by `hsp replicate`, the blocks/s of
// the elapsedMs its done record reports (in the JSON file only): without
// the process start, the daemon's connect and the exit.
const selfSuffix = "-self"

// replSamples are a download's figures: n blocks in elapsed, and the bytes
// the proxy relayed each way.
func replSamples(metric, wire string, n int, elapsed time.Duration, up, down int64) samples {
	const mib = 1 << 20
	return samples{
		metric: {float64(n) / elapsed.Seconds()},
		wire:   {float64(up+down) / mib}, wire + "-up": {float64(up) / mib}, wire + "-down": {float64(down) / mib},
	}
}

// replData is the blocks of a shape, and the file that holds them for the
// JS side.
type replData struct {
	blocks [][]byte
	file   string
}

var replCache = struct {
	sync.Mutex
	m map[string]*replData
}{m: map[string]*replData{}}

// replBlocks returns n blocks of size bytes, the same for every side and
// round of a run: ChaCha8 output (incompressible), written once to a file
// under e.tmp.
func replBlocks(e *env, n, size int) (*replData, error) {
	replCache.Lock()
	defer replCache.Unlock()
	k := fmt.Sprintf("%s/%dx%d", e.tmp, n, size)
	if d, ok := replCache.m[k]; ok {
		return d, nil
	}
	buf := make([]byte, n*size)
	rand.NewChaCha8([32]byte{'h', 's', 'p', '-', 'r', 'e', 'p', 'l', byte(size >> 10)}).Read(buf)
	d := &replData{blocks: make([][]byte, n), file: filepath.Join(e.tmp, fmt.Sprintf("repl-%dx%d.bin", n, size))}
	for i := range d.blocks {
		d.blocks[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	if err := os.WriteFile(d.file, buf, 0o644); err != nil {
		return nil, fmt.Errorf("write replication blocks: %w", err)
	}
	replCache.m[k] = d
	return d, nil
}

// replCeiling times the in-process ceiling: the Data messages of a whole
// download (untimed: made from an in-memory writer, batch by batch with
// the digests of a reader that imported the batches before, proofs from
// one RemoteTree as a serving channel keeps it) imported with
// core.ImportBatch, batches of at most 512 blocks and 8 MiB as the
// daemon's importer makes them, into a core of a core/store store on disk
// (the daemon's durable store).
func replCeiling(ctx context.Context, e *env, metric string, n, size int) (s samples, err error) {
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	key, batches, err := replBatches(ctx, data.blocks)
	if err != nil {
		return nil, err
	}
	st, closeStore, err := tempStore(ctx, e, "ceiling-")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	h, err := st.OpenKey(ctx, key)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	start := time.Now()
	for _, b := range batches {
		if k, err := h.ImportBatch(ctx, b); err != nil || k != len(b) {
			return nil, fmt.Errorf("import blocks %d..: %d of %d imported: %w", b[0].Index, k, len(b), err)
		}
	}
	elapsed := time.Since(start)
	if got, err := h.Downloaded(ctx, 0, uint64(n)); err != nil || got != uint64(n) || h.Length() != uint64(n) {
		return nil, fmt.Errorf("ceiling: %d of %d blocks stored, length %d: %v", got, n, h.Length(), err)
	}
	return samples{metric: {float64(n) / elapsed.Seconds()}}, nil
}

// Batch bounds of the daemon's importer (replicate.DefaultBatchBlocks,
// DefaultBatchBytes).
const (
	importBatchBlocks = 512
	importBatchBytes  = 8 << 20
)

// replBatches builds the Data messages a downloader of blocks receives,
// in import batches.
func replBatches(ctx context.Context, blocks [][]byte) (core.Key, [][]core.Data, error) {
	seed := make([]byte, 32)
	copy(seed, "hsp-bench-ceiling")
	w, err := core.Open(ctx, core.NewMemoryStorage(), core.KeyPairFromSeed(seed))
	if err != nil {
		return core.Key{}, nil, err
	}
	defer w.Close()
	for i := 0; i < len(blocks); i += 100 {
		if _, err := w.Append(ctx, blocks[i:min(i+100, len(blocks))]...); err != nil {
			return core.Key{}, nil, fmt.Errorf("ceiling: append: %w", err)
		}
	}
	r, err := core.Open(ctx, core.NewMemoryStorage(), core.KeyPair{PublicKey: w.Key()})
	if err != nil {
		return core.Key{}, nil, err
	}
	defer r.Close()
	remote := core.NewRemoteTree()
	var batches [][]core.Data
	for i := 0; i < len(blocks); {
		var ds []core.Data
		bytes := 0
		for ; i < len(blocks) && len(ds) < importBatchBlocks && (len(ds) == 0 || bytes+len(blocks[i]) <= importBatchBytes); i++ {
			p, err := w.Proof(ctx, uint64(i), r.Digest(uint64(i)), false, remote)
			if err != nil {
				return core.Key{}, nil, fmt.Errorf("ceiling: proof of %d: %w", i, err)
			}
			v, err := w.Get(ctx, uint64(i), core.GetOptions{NoWait: true})
			if err != nil {
				return core.Key{}, nil, fmt.Errorf("ceiling: get %d: %w", i, err)
			}
			ds = append(ds, core.Data{Index: uint64(i), Value: v, Nodes: p.Nodes, Signature: p.Signature})
			bytes += len(v)
		}
		if k, err := r.ImportBatch(ctx, ds); err != nil || k != len(ds) {
			return core.Key{}, nil, fmt.Errorf("ceiling: stage blocks %d..: %d of %d: %w", ds[0].Index, k, len(ds), err)
		}
		batches = append(batches, ds)
	}
	return w.Key(), batches, nil
}

// replicateChecked caches, per hsp binary, what checkReplicate found.
var replicateChecked = struct {
	sync.Mutex
	m map[string]error
}{m: map[string]error{}}

// checkReplicate fails unless bin has the replicate command (`hsp
// replicate --help` exits 0), so that the hsp rows of a build without it
// fail loudly.
func checkReplicate(ctx context.Context, bin string) error {
	replicateChecked.Lock()
	defer replicateChecked.Unlock()
	if err, ok := replicateChecked.m[bin]; ok {
		return err
	}
	var err error
	if out, runErr := exec.CommandContext(ctx, bin, "replicate", "--help").CombinedOutput(); runErr != nil {
		err = fmt.Errorf("%s has no usable `hsp replicate` (`hsp replicate --help`: %v: %s)", bin, runErr, tail(string(out), 300))
	}
	replicateChecked.m[bin] = err
	return err
}

// swarmDaemon starts a daemon of bin on a new home with its swarm on
// 127.0.0.1 and a free port, and checks that `hsp --json status` reports
// that port.
func swarmDaemon(ctx context.Context, e *env, bin, tag string) (*daemonProc, int, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	d, err := startDaemon(ctx, e, bin, tag, "--swarm-host", "127.0.0.1", "--swarm-port", strconv.Itoa(port))
	if err != nil {
		return nil, 0, err
	}
	out, err := exec.CommandContext(ctx, bin, "--home", d.home, "--json", "status").Output()
	if err != nil {
		d.stop()
		return nil, 0, fmt.Errorf("hsp --json status: %w: %s", err, stderrOf(err))
	}
	var st struct {
		Network struct {
			Port int    `json:"port"`
			Host string `json:"host"`
		} `json:"network"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Network.Port != port {
		d.stop()
		return nil, 0, fmt.Errorf("hsp --json status of a daemon started with --swarm-port %d: network.port %d, host %q (%v): %s",
			port, st.Network.Port, st.Network.Host, err, tail(string(out), 500))
	}
	return d, port, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return tail(string(ee.Stderr), 1000)
	}
	return ""
}

// servingHSP starts daemon A on a swarm port with a new core of blocks.
func servingHSP(ctx context.Context, e *env, bin string, blocks [][]byte) (*daemonProc, int, core.Key, error) {
	a, port, err := swarmDaemon(ctx, e, bin, "repl-a")
	if err != nil {
		return nil, 0, core.Key{}, err
	}
	key, err := fillHSP(ctx, a, blocks)
	if err != nil {
		return nil, 0, core.Key{}, errors.Join(err, a.stop())
	}
	return a, port, key, nil
}

// fillHSP appends blocks to a new core of daemon d, 100 per call, and
// returns its key.
func fillHSP(ctx context.Context, d *daemonProc, blocks [][]byte) (core.Key, error) {
	c, err := d.dial(ctx)
	if err != nil {
		return core.Key{}, fmt.Errorf("dial hsp daemon: %w", err)
	}
	defer c.Close()
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		return core.Key{}, fmt.Errorf("open a new core: %w", err)
	}
	defer rc.Close()
	for i := 0; i < len(blocks); i += 100 {
		if _, err := rc.Append(ctx, blocks[i:min(i+100, len(blocks))]...); err != nil {
			return core.Key{}, fmt.Errorf("append block %d: %w", i, err)
		}
	}
	return rc.Key(), nil
}

// checkHSPCore checks that daemon d holds every block of the core key,
// equal to blocks, read back through package rpc one Get each (NoWait, so
// that nothing is fetched now). Not RemoteCore.Read: the hsp of this
// writing loses the connection partway through a Read of 64 KiB blocks,
// after about 64 MiB (see the bench's report).
func checkHSPCore(ctx context.Context, d *daemonProc, key core.Key, blocks [][]byte) error {
	c, err := d.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial the downloader's daemon: %w", err)
	}
	defer c.Close()
	rc, err := c.Open(ctx, rpc.OpenRequest{Key: &key, Existing: true})
	if err != nil {
		return fmt.Errorf("the downloader's daemon: open %s: %w", key, err)
	}
	defer rc.Close()
	n := uint64(len(blocks))
	if got, err := rc.Downloaded(ctx, 0, n); err != nil || got != n {
		return fmt.Errorf("the downloader's daemon holds %d of %d blocks (%v)", got, n, err)
	}
	for i, want := range blocks {
		b, err := rc.Get(ctx, uint64(i), core.GetOptions{NoWait: true})
		if err != nil {
			return fmt.Errorf("the downloader's daemon: get block %d: %w", i, err)
		}
		if !bytes.Equal(b, want) {
			return fmt.Errorf("the downloader's daemon: block %d differs from the one served", i)
		}
	}
	return nil
}

// replicateDone is the last JSON line of `hsp --json replicate`. The
// contract names blocks and bytes; the hsp of this writing prints have,
// downloadedBlocks and downloadedBytes instead: either is accepted.
type replicateDone struct {
	Type             string  `json:"type"`
	Blocks           *uint64 `json:"blocks"`
	Bytes            *uint64 `json:"bytes"`
	Have             *uint64 `json:"have"`
	DownloadedBlocks *uint64 `json:"downloadedBlocks"`
	DownloadedBytes  *uint64 `json:"downloadedBytes"`
	ElapsedMs        float64 `json:"elapsedMs"`
}

// check tells whether the record says n blocks of size bytes came.
func (d replicateDone) check(n, size int) error {
	is := func(p *uint64, want int) bool { return p == nil || *p == uint64(want) }
	some := d.Blocks != nil || d.Have != nil || d.DownloadedBlocks != nil
	bytes := d.Bytes != nil || d.DownloadedBytes != nil
	if d.Type != "done" || !some || !bytes || !is(d.Blocks, n) || !is(d.Have, n) || !is(d.DownloadedBlocks, n) ||
		!is(d.Bytes, n*size) || !is(d.DownloadedBytes, n*size) {
		return fmt.Errorf("want a done record of %d blocks, %d bytes", n, n*size)
	}
	return nil
}

// hspReplicate runs `hsp --home home --json replicate KEY --peer peer` and
// returns its wall time, from start to exit 0, and the time its done
// record reports (0 when it has none).
func hspReplicate(ctx context.Context, bin, home string, key core.Key, peer string, n, size int) (time.Duration, time.Duration, error) {
	args := []string{"--home", home, "--json", "replicate", key.String(), "--peer", peer, "--timeout", "300s"}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		what := ""
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 7 {
			what = " (exit 7: unavailable)"
		}
		return 0, 0, fmt.Errorf("hsp %s: %w%s: %s %s", strings.Join(args, " "), err, what, tail(stderr.String(), 1500), tail(stdout.String(), 500))
	}
	var done replicateDone
	for line := range strings.SplitSeq(strings.TrimSpace(stdout.String()), "\n") {
		var rec replicateDone
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Type == "done" {
			done = rec
		}
	}
	if err := done.check(n, size); err != nil {
		return 0, 0, fmt.Errorf("hsp replicate: %w; its output ends %q", err, tail(stdout.String(), 500))
	}
	return elapsed, time.Duration(done.ElapsedMs * float64(time.Millisecond)), nil
}

// replHSPToHSP: daemon A serves, `hsp replicate` downloads into daemon B.
func replHSPToHSP(ctx context.Context, e *env, bin, metric, wire string, n, size int) (s samples, err error) {
	if err := checkReplicate(ctx, bin); err != nil {
		return nil, err
	}
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	a, portA, key, err := servingHSP(ctx, e, bin, data.blocks)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, a.stop()) }()
	return replIntoHSP(ctx, e, bin, key, portA, data, metric, wire, size)
}

// replIntoHSP downloads key from the server on port into a new daemon B
// with `hsp replicate`, through a counting proxy, and checks B's blocks.
func replIntoHSP(ctx context.Context, e *env, bin string, key core.Key, port int, data *replData, metric, wire string, size int) (s samples, err error) {
	b, _, err := swarmDaemon(ctx, e, bin, "repl-b")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, b.stop()) }()
	px, err := startProxy("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, px.close()) }()
	n := len(data.blocks)
	elapsed, self, err := hspReplicate(ctx, bin, b.home, key, px.addr(), n, size)
	if err != nil {
		return nil, err
	}
	up, down := px.bytes()
	if err := checkHSPCore(ctx, b, key, data.blocks); err != nil {
		return nil, err
	}
	s = replSamples(metric, wire, n, elapsed, up, down)
	if self > 0 {
		s[metric+selfSuffix] = []float64{float64(n) / self.Seconds()}
	}
	return s, nil
}

// replJSToHSP: repl-serve.js serves, `hsp replicate` downloads into daemon B.
func replJSToHSP(ctx context.Context, e *env, bin, metric, wire string, n, size int) (s samples, err error) {
	if err := checkReplicate(ctx, bin); err != nil {
		return nil, err
	}
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	srv, err := startJSServer(ctx, e, data, size)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()
	return replIntoHSP(ctx, e, bin, srv.key, srv.port, data, metric, wire, size)
}

// replHSPToJS: daemon A serves, repl-download.js downloads.
func replHSPToJS(ctx context.Context, e *env, bin, metric, wire string, n, size int) (s samples, err error) {
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	a, portA, key, err := servingHSP(ctx, e, bin, data.blocks)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, a.stop()) }()
	return replIntoJS(ctx, e, key, portA, data, metric, wire, size)
}

// replJSToJS: repl-serve.js serves, repl-download.js downloads.
func replJSToJS(ctx context.Context, e *env, metric, wire string, n, size int) (s samples, err error) {
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	srv, err := startJSServer(ctx, e, data, size)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()
	return replIntoJS(ctx, e, srv.key, srv.port, data, metric, wire, size)
}

// jsDownload is the result line of repl-download.js.
type jsDownload struct {
	Type               string  `json:"type"`
	Seconds            float64 `json:"seconds"`
	Blocks             int     `json:"blocks"`
	Downloaded         int     `json:"downloaded"`
	ByteLength         int     `json:"byteLength"`
	OffLoopbackBlocked int     `json:"offLoopbackBlocked"`
}

// replIntoJS downloads key from the server on port with repl-download.js
// on a new storage dir, through a counting proxy; the time is the one the
// script measures (connect → 'sync' with every block).
func replIntoJS(ctx context.Context, e *env, key core.Key, port int, data *replData, metric, wire string, size int) (s samples, err error) {
	dir, err := os.MkdirTemp(e.tmp, "js-download-")
	if err != nil {
		return nil, fmt.Errorf("make js storage: %w", err)
	}
	defer os.RemoveAll(dir)
	px, err := startProxy("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, px.close()) }()
	n := len(data.blocks)
	args := []string{"repl-download.js", "--key", key.String(), "--port", strconv.Itoa(px.port()), "--dir", dir,
		"--file", data.file, "--size", strconv.Itoa(size)}
	stdout, err := runNode(ctx, e, args...)
	if err != nil {
		return nil, err
	}
	up, down := px.bytes()
	var r jsDownload
	if err := json.Unmarshal(stdout, &r); err != nil || r.Type != "result" {
		return nil, fmt.Errorf("read result of node %s: %q: %w", strings.Join(args, " "), stdout, err)
	}
	if r.Blocks != n || r.Downloaded != n || r.ByteLength != n*size || r.OffLoopbackBlocked != 0 {
		return nil, fmt.Errorf("js download: %+v, want %d blocks of %d bytes and no off-loopback send", r, n, size)
	}
	return replSamples(metric, wire, n, time.Duration(r.Seconds*float64(time.Second)), up, down), nil
}

// jsServer is a running bench/js/repl-serve.js.
type jsServer struct {
	cmd    *exec.Cmd
	dir    string
	key    core.Key
	port   int
	stderr bytes.Buffer
	exited chan struct{}
}

// startJSServer starts repl-serve.js on a new storage dir, serving data,
// and returns once it listens.
func startJSServer(ctx context.Context, e *env, data *replData, size int) (*jsServer, error) {
	dir, err := os.MkdirTemp(e.tmp, "js-serve-")
	if err != nil {
		return nil, fmt.Errorf("make js storage: %w", err)
	}
	s := &jsServer{dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command("node", "repl-serve.js", "--file", data.file, "--size", strconv.Itoa(size), "--dir", dir)
	s.cmd.Dir, s.cmd.Stderr = e.jsDir, &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start repl-serve.js: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start repl-serve.js: %w", err)
	}
	line, err := firstLine(ctx, out, 5*time.Minute, func([]byte) {}, func() { s.cmd.Wait(); close(s.exited) })
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("repl-serve.js: not listening: %w", err)
	}
	var l struct {
		Type       string `json:"type"`
		Port       int    `json:"port"`
		Key        string `json:"key"`
		Length     int    `json:"length"`
		ByteLength int    `json:"byteLength"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Type != "listening" || l.Length != len(data.blocks) || l.ByteLength != len(data.blocks)*size {
		s.stop()
		return nil, fmt.Errorf("repl-serve.js: %q (%v): %s", line, err, tail(s.stderr.String(), 2000))
	}
	if s.key, err = core.ParseKey(l.Key); err != nil {
		s.stop()
		return nil, fmt.Errorf("repl-serve.js: %w", err)
	}
	s.port = l.Port
	return s, nil
}

// stop ends the server with SIGTERM (SIGKILL after 10 s) and removes its
// storage.
func (s *jsServer) stop() error {
	defer os.RemoveAll(s.dir)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("stop repl-serve.js %d: killed after 10 s", s.cmd.Process.Pid)
	}
	if st := s.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("repl-serve.js %d: %s (3: off-loopback sends blocked): %s", s.cmd.Process.Pid, st, tail(s.stderr.String(), 2000))
	}
	return nil
}

// firstLine returns the first line a server prints on out, within wait,
// then hands every later line to rest and, at the end of out, calls
// exited.
func firstLine(ctx context.Context, out io.Reader, wait time.Duration, rest func([]byte), exited func()) (string, error) {
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
			rest(sc.Bytes())
		}
		exited()
	}()
	select {
	case line, ok := <-first:
		if !ok {
			return "", errors.New("it exited first")
		}
		return line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(wait):
		return "", fmt.Errorf("no line after %v", wait)
	}
}
