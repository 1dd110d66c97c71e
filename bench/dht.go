package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// The DHT workloads (issue 18): downloader B is given only the key of a
// core that A holds and announces, finds A through a local DHT and
// downloads the whole core. Each run has its own DHT, one persistent
// bootstrap node on 127.0.0.1 (the public bootstrap nodes are never used),
// and its own daemons on empty storage:
//
//	hsp ↔ hsp  `hsp dht` bootstraps daemons A and B; B's rpc client asks for the key
//	           (the calls of `hsp replicate KEY`, no --peer); then a fresh daemon C
//	           runs the command itself, reported for reference
//	JS ↔ JS    bench/js/dht-replicate.js: an @hyperswarm/dht bootstrap node, two JS Hyperspace daemons
//
// Timed on each side from B's client, already connected, being asked for
// the key, to its first peer and to every block stored; A's blocks are
// appended and announced before (untimed), B's daemon is up and its DHT
// node bootstrapped. Every block is compared after each download. The
// blocks are those of the replication workloads (replBlocks).

// dhtNote goes beside the durability note when DHT rows ran.
const dhtNote = "Through the DHT: every run has its own DHT, one persistent bootstrap node on 127.0.0.1 " +
	"(`hsp dht` for hsp, @hyperswarm/dht 4.0.1 for JS), and A has announced the core before the timer starts. " +
	"On both sides B's client is connected before the timer starts. hsp ↔ hsp times, through package rpc, the " +
	"calls of `hsp replicate KEY` (no --peer): open by key, a download to the peers' length that looks the " +
	"topic up, its wait, which returns once every block is verified and synced; its first peer is B's " +
	"peer-add event. The rows \"via the CLI\" time the command itself on a fresh daemon C, after B, from its " +
	"exec until it exits 0. JS ↔ JS times B's client from get(key) (then configure lookup, update, download) " +
	"until download() resolves (random-access-file, never fsynced); its first peer is the client's " +
	"'peer-add'. The JS daemons replicate over 127.0.0.1 only with @corestore/networker's loopback check " +
	"removed in memory (HS_BENCH_ALLOW_LOOPBACK_PEERS=1): the bench runs unprivileged, without network namespaces."

// dhtShape is one DHT workload: count(p) blocks of size bytes.
type dhtShape struct {
	name     string // "1k": the workload is dht-1k, its metrics dht-1k...
	label    string // "1 KiB"
	size     int
	count    func(p params) int
	wantVsJS float64 // hsp ↔ hsp's download rate against JS ↔ JS's
}

var dhtShapes = []dhtShape{
	{"1k", "1 KiB", 1 << 10, func(p params) int { return p.DHT1kN }, 10},
	{"64k", "64 KiB", 64 << 10, func(p params) int { return p.DHT64kN }, 1.5},
}

func (sh dhtShape) workload() string { return "dht-" + sh.name }

// dhtMetrics are a shape's metric names: full the download's blocks/s
// (count over the time to every block stored), firstPeer the ms to the
// first peer, both through B's rpc client. For hsp the run of `hsp
// replicate KEY` adds cli and cliFirstPeer, the same two timed from the
// command's exec, and in the JSON file self (blocks/s over the elapsedMs
// of its done record) and progress (ms to its first progress line with a
// peer: a cross-check, at the lines' 100–250 ms granularity).
type dhtMetrics struct {
	full, firstPeer, cli, cliFirstPeer, self, progress string
}

func (sh dhtShape) metrics() dhtMetrics {
	w := sh.workload()
	return dhtMetrics{full: w, firstPeer: w + "-first-peer", cli: w + "-cli", cliFirstPeer: w + "-cli-first-peer",
		self: w + selfSuffix, progress: w + "-first-progress"}
}

// hsp are the metrics of hsp's side, in the order of the JSON file.
func (m dhtMetrics) hsp() []string {
	return []string{m.full, m.firstPeer, m.cli, m.cliFirstPeer, m.self, m.progress}
}

func init() {
	for _, sh := range dhtShapes {
		m := sh.metrics()
		units[m.full], units[m.cli], units[m.self] = unitRate, unitRate, unitRate
		units[m.firstPeer], units[m.cliFirstPeer], units[m.progress] = unitMs, unitMs, unitMs
	}
}

// dhtRows are the rows of the DHT workloads: per shape, hsp ↔ hsp's
// download rate against JS ↔ JS's, and its time to the first peer, which
// must be no later than JS's; then the same two for `hsp replicate`, timed
// from its exec, beside JS's for reference.
func dhtRows(p params) []row {
	var rs []row
	for _, sh := range dhtShapes {
		m, w := sh.metrics(), sh.workload()
		t := fmt.Sprintf("via the DHT, %d × %s, hsp ↔ hsp", sh.count(p), sh.label)
		full, first := key(sideJS, m.full), key(sideJS, m.firstPeer)
		rs = append(rs,
			row{w, t + ": key → every block", m.full, full, full, "JS ↔ JS", sh.wantVsJS, false},
			row{w, t + ": key → first peer", m.firstPeer, first, first, "JS ↔ JS", 1, true},
			row{w, t + " via the CLI: key → every block", m.cli, full, "", "", 0, false},
			row{w, t + " via the CLI: key → first peer", m.cliFirstPeer, first, "", "", 0, true},
		)
	}
	return rs
}

// dhtJobs are a shape's jobs: hsp ↔ hsp per build, then JS ↔ JS.
func dhtJobs(p params, l lineup, sh dhtShape) []job {
	m, n, g := sh.metrics(), sh.count(p), sh.workload()
	var js []job
	for _, side := range l.HSP {
		js = append(js, job{g, side, m.hsp(), func(ctx context.Context, e *env) (samples, error) {
			s, err := dhtHSP(ctx, e, e.bin(side), m, n, sh.size)
			return s, wrapNonNil("hsp ↔ hsp", err)
		}})
	}
	if l.JS {
		js = append(js, job{g, sideJS, []string{m.full, m.firstPeer}, func(ctx context.Context, e *env) (samples, error) {
			s, err := dhtJS(ctx, e, m, n, sh.size)
			return s, wrapNonNil("JS ↔ JS", err)
		}})
	}
	return js
}

func wrapNonNil(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// dhtRunLimit bounds one run of a DHT workload's side, set-up included.
const dhtRunLimit = 10 * time.Minute

// dhtHSP runs one hsp ↔ hsp download through a fresh local DHT.
func dhtHSP(ctx context.Context, e *env, bin string, m dhtMetrics, n, size int) (s samples, err error) {
	ctx, cancel := context.WithTimeout(ctx, dhtRunLimit)
	defer cancel()
	if err := checkReplicate(ctx, bin); err != nil {
		return nil, err
	}
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	boot, err := startDHTNode(ctx, bin)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, boot.stop()) }()
	a, err := dhtDaemon(ctx, e, bin, "dht-a", boot.addr)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, a.stop()) }()
	b, err := dhtDaemon(ctx, e, bin, "dht-b", boot.addr)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, b.stop()) }()
	key, err := fillHSP(ctx, a, data.blocks)
	if err != nil {
		return nil, err
	}
	if err := announceHSP(ctx, a, key); err != nil {
		return nil, err
	}
	s, err = timeRPCDownload(ctx, b, key, data, m)
	if err != nil {
		return nil, err
	}
	c, err := dhtDaemon(ctx, e, bin, "dht-c", boot.addr)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, c.stop()) }()
	cs, err := timeCLIDownload(ctx, bin, c, key, data, m, size)
	if err != nil {
		return nil, fmt.Errorf("via the CLI: %w", err)
	}
	maps.Copy(s, cs)
	return s, nil
}

// timeRPCDownload has daemon B download key through an rpc client dialled
// before the timer starts, as JS's side does through its client, and
// checks B's blocks.
func timeRPCDownload(ctx context.Context, b *daemonProc, key core.Key, data *replData, m dhtMetrics) (samples, error) {
	c, err := b.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial the downloader's daemon: %w", err)
	}
	defer c.Close()
	run, err := replicateByRPC(ctx, c, key)
	if err != nil {
		return nil, err
	}
	if err := checkHSPCore(ctx, b, key, data.blocks); err != nil {
		return nil, err
	}
	n := len(data.blocks)
	return samples{m.full: {float64(n) / run.elapsed.Seconds()}, m.firstPeer: {ms(run.firstPeer)}}, nil
}

// timeCLIDownload watches daemon d's first peer of key, runs `hsp
// replicate KEY` against it and checks d's blocks.
func timeCLIDownload(ctx context.Context, bin string, d *daemonProc, key core.Key, data *replData, m dhtMetrics, size int) (samples, error) {
	c, err := d.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial the downloader's daemon: %w", err)
	}
	defer c.Close()
	pw, err := watchFirstPeer(ctx, c, key)
	if err != nil {
		return nil, err
	}
	defer pw.close()
	n := len(data.blocks)
	run, err := replicateByKey(ctx, bin, d.home, key)
	if err != nil {
		return nil, err
	}
	if err := run.done.check(n, size); err != nil {
		return nil, fmt.Errorf("hsp replicate: %w; its output ends %q", err, tail(run.stdout, 500))
	}
	peerAt, ok := pw.wait(5 * time.Second) // the event may trail the exit a little
	if !ok {
		return nil, fmt.Errorf("the downloader's daemon sent no peer-add event for %s, yet `hsp replicate` exited 0", key)
	}
	if err := checkHSPCore(ctx, d, key, data.blocks); err != nil {
		return nil, err
	}
	s := samples{m.cli: {float64(n) / run.elapsed.Seconds()}, m.cliFirstPeer: {ms(peerAt.Sub(run.start))}}
	if run.done.ElapsedMs > 0 {
		s[m.self] = []float64{float64(n) / (run.done.ElapsedMs / 1000)}
	}
	if run.firstProgress > 0 {
		s[m.progress] = []float64{ms(run.firstProgress)}
	}
	return s, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dhtDaemon starts a daemon of bin on a new home with its swarm on
// 127.0.0.1 and a free port, the DHT bootstrapped from boot only, and
// returns once its DHT node is bootstrapped.
func dhtDaemon(ctx context.Context, e *env, bin, tag, boot string) (*daemonProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d, err := startDaemon(ctx, e, bin, tag, "--swarm-host", "127.0.0.1", "--swarm-port", strconv.Itoa(port), "--bootstrap", boot)
	if err != nil {
		return nil, err
	}
	if err := waitBootstrapped(ctx, d, port, boot); err != nil {
		return nil, errors.Join(err, d.stop())
	}
	return d, nil
}

// waitBootstrapped polls d's status until its swarm listens on port and
// its DHT node, given boot alone, is bootstrapped.
func waitBootstrapped(ctx context.Context, d *daemonProc, port int, boot string) error {
	c, err := d.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial hsp daemon: %w", err)
	}
	defer c.Close()
	var st rpc.Status
	err = poll(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		st, err = c.Status(ctx)
		n := st.Network
		return err == nil && int(n.Port) == port && n.DHT.Bootstrapped && slices.Equal(n.DHT.Bootstrap, []string{boot}), err
	})
	if err != nil {
		return fmt.Errorf("daemon %s: swarm on port %d, DHT bootstrapped from %s only: %w (network: %+v)", d.home, port, boot, err, st.Network)
	}
	return nil
}

// poll calls done every 5 ms until it returns true or an error, or limit
// passes; done's calls get a ctx that ends then.
func poll(ctx context.Context, limit time.Duration, done func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		ok, err := done(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("not after %v: %w", limit, ctx.Err())
		}
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not after %v: %w", limit, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// announceHSP seeds key on daemon d (announce and lookup) and returns once
// its first announce round has finished.
func announceHSP(ctx context.Context, d *daemonProc, key core.Key) error {
	c, err := d.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial hsp daemon: %w", err)
	}
	defer c.Close()
	if err := c.Seed(ctx, key); err != nil {
		return fmt.Errorf("seed %s: %w", key, err)
	}
	var t rpc.TopicStatus
	err = poll(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		t, err = c.TopicStatus(ctx, key.DiscoveryKey())
		return err == nil && t.Announce && t.Rounds >= 1, err
	})
	if err != nil {
		return fmt.Errorf("daemon A: first announce round of %s: %w (topic: %+v)", key, err, t)
	}
	return nil
}
