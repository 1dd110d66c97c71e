package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// jsDHTResult is the result line of bench/js/dht-replicate.js.
type jsDHTResult struct {
	Type               string  `json:"type"`
	Seconds            float64 `json:"seconds"`
	FirstPeerSeconds   float64 `json:"firstPeerSeconds"`
	Blocks             int     `json:"blocks"`
	Downloaded         int     `json:"downloaded"`
	ByteLength         int     `json:"byteLength"`
	OffLoopbackBlocked int     `json:"offLoopbackBlocked"`
	DaemonBlocked      int     `json:"daemonBlocked"`
}

// check tells whether the result is a whole download of n blocks of size
// bytes, with a first peer before its end and nothing sent off loopback.
func (r jsDHTResult) check(n, size int) error {
	switch {
	case r.Type != "result":
		return fmt.Errorf("want a result line, got type %q", r.Type)
	case r.Blocks != n || r.Downloaded != n || r.ByteLength != n*size:
		return fmt.Errorf("%d blocks, %d downloaded, %d bytes; want %d blocks of %d bytes", r.Blocks, r.Downloaded, r.ByteLength, n, size)
	case r.OffLoopbackBlocked+r.DaemonBlocked > 0:
		return fmt.Errorf("the loopback guard blocked %d off-loopback sends", r.OffLoopbackBlocked+r.DaemonBlocked)
	case r.Seconds <= 0 || r.FirstPeerSeconds <= 0 || r.FirstPeerSeconds > r.Seconds:
		return fmt.Errorf("first peer at %.3f s, done at %.3f s", r.FirstPeerSeconds, r.Seconds)
	}
	return nil
}

// dhtJS runs one JS ↔ JS download with bench/js/dht-replicate.js.
func dhtJS(ctx context.Context, e *env, m dhtMetrics, n, size int) (samples, error) {
	data, err := replBlocks(e, n, size)
	if err != nil {
		return nil, err
	}
	args := []string{"dht-replicate.js", "--file", data.file, "--size", strconv.Itoa(size), "--timeout-ms", "300000"}
	stdout, err := runNode(ctx, e, args...)
	if err != nil {
		return nil, err
	}
	var r jsDHTResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		return nil, fmt.Errorf("read result of node %s: %q: %w", strings.Join(args, " "), stdout, err)
	}
	if err := r.check(n, size); err != nil {
		return nil, fmt.Errorf("node %s: %w", strings.Join(args, " "), err)
	}
	return samples{m.full: {float64(n) / r.Seconds}, m.firstPeer: {r.FirstPeerSeconds * 1000}}, nil
}
