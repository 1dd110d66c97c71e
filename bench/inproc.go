package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hspd/hsp/core/store"
)

// inprocAppend appends to a new core of a store opened in this process,
// with the store's defaults (the daemon's: every append durable before it
// returns), from one goroutine. It is the ceiling the daemon's figures are
// held against: the same work without the RPC.
func inprocAppend(ctx context.Context, e *env, metric string, n, size, batch int) (s samples, err error) {
	dir, err := os.MkdirTemp(e.tmp, "inproc-")
	if err != nil {
		return nil, fmt.Errorf("make store dir: %w", err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	h, err := st.Create(ctx)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	a := appendSpec{n: n, size: size, batch: batch, clients: 1}
	elapsed, err := appendConcurrently(ctx, a, func(int) appender { return h })
	if err != nil {
		return nil, err
	}
	return samples{metric: {float64(n) / elapsed.Seconds()}}, nil
}
