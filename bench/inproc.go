package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hspd/hsp/core/store"
)

// inprocAppend appends to new cores of a store opened in this process,
// with the store's defaults (the daemon's: every append durable before it
// returns), one goroutine per client, each to its own core. It is the
// ceiling the daemon's figures are held against: the same work without the
// RPC.
func inprocAppend(ctx context.Context, e *env, metric string, a appendSpec) (s samples, err error) {
	st, closeStore, err := tempStore(ctx, e, "inproc-")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	cores := make([]appender, a.clients)
	for i := range cores {
		h, err := st.Create(ctx)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		cores[i] = h
	}
	elapsed, err := appendConcurrently(ctx, a, func(i int) appender { return cores[i] })
	if err != nil {
		return nil, err
	}
	return samples{metric: {float64(a.n) / elapsed.Seconds()}}, nil
}

// tempStore opens a durable store in a new directory under e.tmp; close
// closes it and removes the directory.
func tempStore(ctx context.Context, e *env, prefix string) (*store.Store, func() error, error) {
	dir, err := os.MkdirTemp(e.tmp, prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("make store dir: %w", err)
	}
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() error { return errors.Join(st.Close(), os.RemoveAll(dir)) }, nil
}
