package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// jsResult is the JSON line bench/js/run.js prints (the fields of all
// its cases).
type jsResult struct {
	Type               string    `json:"type"`
	OffLoopbackBlocked int       `json:"offLoopbackBlocked"`
	DaemonBlocked      int       `json:"daemonBlocked"`
	BlocksPerS         float64   `json:"blocksPerS"`
	GetBlocksPerS      float64   `json:"getBlocksPerS"`
	StreamBlocksPerS   float64   `json:"streamBlocksPerS"`
	SpawnS             []float64 `json:"spawnSeconds"`
	IdleRSSBytes       float64   `json:"idleRssBytes"`
	CoresRSSBytes      float64   `json:"coresRssBytes"`
	CoresHeld          int       `json:"coresHeld"`
}

// runNode runs a script of bench/js to its end and returns its stdout,
// trimmed. Interrupted, the scripts stop their daemons and remove their
// dirs on SIGTERM, which the cancel sends.
func runNode(ctx context.Context, e *env, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = e.jsDir, &stdout, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return bytes.TrimSpace(stdout.Bytes()), nil
}

// runJS runs one case of bench/js/run.js and returns its result line.
func runJS(ctx context.Context, e *env, name string, flags ...string) (jsResult, error) {
	args := append([]string{"run.js", name}, flags...)
	stdout, err := runNode(ctx, e, args...)
	if err != nil {
		return jsResult{}, err
	}
	var r jsResult
	if err := json.Unmarshal(stdout, &r); err != nil || r.Type != "result" {
		return jsResult{}, fmt.Errorf("read result of node %s: %q: %w", strings.Join(args, " "), stdout, err)
	}
	if n := r.OffLoopbackBlocked + r.DaemonBlocked; n > 0 {
		return jsResult{}, fmt.Errorf("node %s: the loopback guard blocked %d off-loopback sends", strings.Join(args, " "), n)
	}
	return r, nil
}

func itoa(v int) string { return strconv.Itoa(v) }

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// jsAppend runs the append case of run.js.
func jsAppend(ctx context.Context, e *env, metric string, a appendSpec) (samples, error) {
	r, err := runJS(ctx, e, "append", "--n", itoa(a.n), "--size", itoa(a.size), "--batch", itoa(a.batch), "--clients", itoa(a.clients))
	if err != nil {
		return nil, err
	}
	return samples{metric: {r.BlocksPerS}}, nil
}

// jsRead runs the read case: get per block, then createReadStream.
func jsRead(ctx context.Context, e *env, p params) (samples, error) {
	r, err := runJS(ctx, e, "read", "--n", itoa(p.ReadN), "--get-n", itoa(min(p.ReadGetN, p.ReadN)), "--size", "1024")
	if err != nil {
		return nil, err
	}
	return samples{mReadGet: {r.GetBlocksPerS}, mReadStream: {r.StreamBlocksPerS}}, nil
}

// jsStartup runs the startup case: spawn → status, then idle RSS and RSS
// with p.Cores cores held, of a daemon joined to a local DHT bootstrap
// node whose DHT has answered a lookup (run.js's dhtReady), as the hsp
// side's (hspJoinedMemory).
func jsStartup(ctx context.Context, e *env, p params) (samples, error) {
	r, err := runJS(ctx, e, "startup", "--spawns", itoa(p.Spawns), "--cores", itoa(p.Cores), "--settle-ms", itoa(int(p.Settle.Milliseconds())))
	if err != nil {
		return nil, err
	}
	if r.CoresHeld != p.Cores {
		return nil, fmt.Errorf("js startup: held %d cores, want %d", r.CoresHeld, p.Cores)
	}
	s := samples{mIdleRSS: {r.IdleRSSBytes / (1 << 20)}, mCoresRSS: {r.CoresRSSBytes / (1 << 20)}}
	for _, sec := range r.SpawnS {
		s[mSpawnStatus] = append(s[mSpawnStatus], sec*1000)
	}
	return s, nil
}
