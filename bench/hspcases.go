package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// appendSpec is an append workload: n blocks of size bytes in all, batch
// per call, spread over clients, each appending to its own new core.
type appendSpec struct {
	n, size, batch, clients int
}

// share is how many blocks client i appends.
func (a appendSpec) share(i int) int {
	s := a.n / a.clients
	if i < a.n%a.clients {
		s++
	}
	return s
}

// hspAppend appends through a fresh daemon of the binary bin. Every call is awaited; the
// clients run concurrently, each on its own connection. The timer runs
// from the first call to the last answer.
func hspAppend(ctx context.Context, e *env, bin, metric string, a appendSpec) (s samples, err error) {
	d, err := startDaemon(ctx, e, bin, "append")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.stop()) }()
	clients, err := dialClients(ctx, d.socket, a.clients)
	if err != nil {
		return nil, err
	}
	defer closeClients(clients)
	cores := make([]*rpc.RemoteCore, a.clients)
	for i, c := range clients {
		if cores[i], err = c.Open(ctx, rpc.OpenRequest{New: true}); err != nil {
			return nil, fmt.Errorf("open a new core: %w", err)
		}
	}
	elapsed, err := appendConcurrently(ctx, a, func(i int) appender { return cores[i] })
	if err != nil {
		return nil, err
	}
	return samples{metric: {float64(a.n) / elapsed.Seconds()}}, nil
}

// appender is what the append loops need of a core: a RemoteCore or an
// in-process store handle.
type appender interface {
	Append(ctx context.Context, blocks ...[]byte) (uint64, error)
}

// appendConcurrently runs one append loop per client and returns the time
// from the start until the last loop ends.
func appendConcurrently(ctx context.Context, a appendSpec, coreOf func(i int) appender) (time.Duration, error) {
	errs := make([]error, a.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range a.clients {
		wg.Go(func() { errs[i] = appendLoop(ctx, coreOf(i), newBlockSource(i, a.size), a.share(i), a.batch) })
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// appendLoop appends n blocks, batch per call, each call awaited.
func appendLoop(ctx context.Context, c appender, src *blockSource, n, batch int) error {
	for done := 0; done < n; {
		k := min(batch, n-done)
		if _, err := c.Append(ctx, src.batch(k)...); err != nil {
			return fmt.Errorf("append block %d: %w", done, err)
		}
		done += k
	}
	return nil
}

// hspRead fills a core through a fresh daemon of the binary bin (100
// blocks per call), reads
// the first ReadGetN blocks with one Get each, then streams all ReadN with
// RemoteCore.Read, which is what `hsp cat` does.
func hspRead(ctx context.Context, e *env, bin string, p params) (s samples, err error) {
	d, err := startDaemon(ctx, e, bin, "read")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.stop()) }()
	c, err := d.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial hsp daemon: %w", err)
	}
	defer c.Close()
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		return nil, fmt.Errorf("open a new core: %w", err)
	}
	if err := appendLoop(ctx, rc, newBlockSource(0, 1024), p.ReadN, 100); err != nil {
		return nil, fmt.Errorf("fill core: %w", err)
	}
	get, err := timeGets(ctx, rc, min(p.ReadGetN, p.ReadN), 1024)
	if err != nil {
		return nil, err
	}
	stream, err := timeStream(ctx, rc, p.ReadN, 1024)
	if err != nil {
		return nil, err
	}
	return samples{mReadGet: {get}, mReadStream: {stream}}, nil
}

// timeGets gets blocks 0..n-1, one call each, and returns blocks/s.
func timeGets(ctx context.Context, rc *rpc.RemoteCore, n, size int) (float64, error) {
	start, bytes := time.Now(), 0
	for i := range n {
		b, err := rc.Get(ctx, uint64(i), core.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("get block %d: %w", i, err)
		}
		bytes += len(b)
	}
	elapsed := time.Since(start)
	if bytes != n*size {
		return 0, fmt.Errorf("get %d blocks: read %d bytes, want %d", n, bytes, n*size)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// timeStream reads blocks [0, n) with Read and returns blocks/s.
func timeStream(ctx context.Context, rc *rpc.RemoteCore, n, size int) (float64, error) {
	start, bytes, count := time.Now(), 0, 0
	err := rc.Read(ctx, 0, uint64(n), false, func(_ uint64, b []byte) error {
		bytes += len(b)
		count++
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("stream %d blocks: %w", n, err)
	}
	if count != n || bytes != n*size {
		return 0, fmt.Errorf("stream %d blocks: got %d blocks, %d bytes", n, count, bytes)
	}
	return float64(n) / elapsed.Seconds(), nil
}
