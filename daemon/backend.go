package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// backend serves the store to the RPC server: it is the daemon's
// rpc.Backend.
type backend struct {
	d      *Daemon
	store  *store.Store
	loaded *loadedSet
	net    network
}

var _ rpc.Backend = (*backend)(nil)

func newBackend(d *Daemon, st *store.Store, loaded *loadedSet, net network) *backend {
	return &backend{d: d, store: st, loaded: loaded, net: net}
}

func (b *backend) Network() rpc.Network { return b.net }

func (b *backend) Status(ctx context.Context) (rpc.Status, error) {
	infos, err := b.store.List(ctx)
	if err != nil {
		return rpc.Status{}, fmt.Errorf("count cores: %w", err)
	}
	loaded := b.loaded.count()
	p := b.d.paths
	return rpc.Status{
		Version: rpc.Version, UptimeMs: uint64(time.Since(b.d.started).Milliseconds()),
		Pid: uint32(os.Getpid()), Home: p.Home, Storage: p.Storage, Socket: p.Socket,
		CoresStored: uint64(len(infos)), CoresLoaded: uint64(loaded), Network: b.net.Status(),
		Settings: b.d.settings(),
	}, nil
}

// stopGrace lets the answer to a stop call reach the client before the
// daemon hangs up.
const stopGrace = 50 * time.Millisecond

func (b *backend) Stop(ctx context.Context) error {
	b.d.log.Info("stop requested by a client")
	time.AfterFunc(stopGrace, b.d.requestStop)
	return nil
}

// Open hands out a loaded core, loading it from the store if need be. The
// handle's release drops the session's use of it; the loaded set decides
// when to close it.
func (b *backend) Open(ctx context.Context, req rpc.OpenRequest) (rpc.Handle, error) {
	h, release, err := b.loaded.acquire(ctx, req.Key, func(ctx context.Context) (*store.Handle, error) {
		return b.open(ctx, req)
	})
	if err != nil {
		return rpc.Handle{}, storeErr(err)
	}
	return rpc.Handle{Core: localCore{Handle: h, net: b.net}, Name: h.Name(), Release: release}, nil
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
	out := make([]rpc.CoreInfo, len(infos))
	for i, in := range infos {
		n := b.net.CoreNetwork(in.Key)
		out[i] = rpc.CoreInfo{
			Key: in.Key, DiscoveryKey: in.DiscoveryKey,
			Length: in.Length, ByteLength: in.ByteLength, Writable: in.Writable,
			Name: in.Name, Loaded: b.loaded.isLoaded(in.Key),
			Seeding: n.Seeding, Peers: n.Peers, UploadedBytes: n.UploadedBytes, DownloadedBytes: n.DownloadedBytes,
		}
	}
	return out, nil
}

// Delete removes a core no client uses, unloading it first if it idles.
func (b *backend) Delete(ctx context.Context, key core.Key) error {
	if b.net.CoreNetwork(key).Seeding {
		if err := b.net.Unseed(ctx, key); err != nil {
			return fmt.Errorf("delete core %s: unseed it: %w", key, err)
		}
	}
	if !b.loaded.unload(key) {
		return fmt.Errorf("delete core %s: a client has it open: %w", key, store.ErrInUse)
	}
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
	case errors.Is(err, store.ErrDiskFull):
		return rpc.Tagged(err.Error(), rpc.ErrDiskFull)
	}
	return err
}
