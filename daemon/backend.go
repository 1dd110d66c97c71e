package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// backend serves the store to the RPC server: it is the daemon's
// rpc.Backend.
type backend struct {
	d     *Daemon
	store *store.Store

	mu     sync.Mutex
	loaded map[core.Key]int // handles given to clients, per core
}

var _ rpc.Backend = (*backend)(nil)

func newBackend(d *Daemon, st *store.Store) *backend {
	return &backend{d: d, store: st, loaded: map[core.Key]int{}}
}

func (b *backend) Status(ctx context.Context) (rpc.Status, error) {
	infos, err := b.store.List(ctx)
	if err != nil {
		return rpc.Status{}, fmt.Errorf("count cores: %w", err)
	}
	b.mu.Lock()
	loaded := len(b.loaded)
	b.mu.Unlock()
	p := b.d.paths
	return rpc.Status{
		Version: rpc.Version, UptimeMs: uint64(time.Since(b.d.started).Milliseconds()),
		Pid: uint32(os.Getpid()), Home: p.Home, Storage: p.Storage, Socket: p.Socket,
		CoresStored: uint64(len(infos)), CoresLoaded: uint64(loaded),
	}, nil
}

func (b *backend) Stop(ctx context.Context) error {
	b.d.log.Info("stop requested by a client")
	b.d.requestStop()
	return nil
}

func (b *backend) Open(ctx context.Context, req rpc.OpenRequest) (rpc.Handle, error) {
	h, err := b.open(ctx, req)
	if err != nil {
		return rpc.Handle{}, storeErr(err)
	}
	key := h.Key()
	b.mu.Lock()
	b.loaded[key]++
	b.mu.Unlock()
	release := func() {
		b.mu.Lock()
		if b.loaded[key]--; b.loaded[key] <= 0 {
			delete(b.loaded, key)
		}
		b.mu.Unlock()
		if err := h.Close(); err != nil {
			b.d.log.Warn("release core", "key", key.String(), "err", err)
		}
	}
	return rpc.Handle{Core: h, Name: h.Name(), Release: release}, nil
}

func (b *backend) open(ctx context.Context, req rpc.OpenRequest) (*store.Handle, error) {
	switch {
	case req.Key != nil && req.Existing:
		if _, err := b.store.Lookup(ctx, req.Key.DiscoveryKey()); err != nil {
			return nil, err
		}
		return b.store.OpenKey(ctx, *req.Key)
	case req.Key != nil:
		return b.store.OpenKey(ctx, *req.Key)
	case req.Name != "":
		return b.store.OpenNamed(ctx, req.Name)
	default:
		return b.store.Create(ctx)
	}
}

func (b *backend) List(ctx context.Context) ([]rpc.CoreInfo, error) {
	infos, err := b.store.List(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]rpc.CoreInfo, len(infos))
	for i, in := range infos {
		out[i] = rpc.CoreInfo{
			Key: in.Key.String(), DiscoveryKey: in.DiscoveryKey.String(),
			Length: in.Length, ByteLength: in.ByteLength, Writable: in.Writable,
			Name: in.Name, Loaded: b.loaded[in.Key] > 0,
		}
	}
	return out, nil
}

func (b *backend) Delete(ctx context.Context, key core.Key) error {
	return storeErr(b.store.Delete(ctx, key))
}

// storeErr maps the store's errors to the RPC's sentinels.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return rpc.Tagged(err.Error(), rpc.ErrNotFound)
	case errors.Is(err, store.ErrClosed):
		return rpc.Tagged(err.Error(), core.ErrClosed)
	}
	return err
}
