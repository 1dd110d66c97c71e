package daemon

import (
	"context"
	"errors"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// network is what the daemon needs of the swarm: the RPC's Network, the
// network part of the status, and per core the fetching of ranges and the
// extensions. swarmNet is the one the daemon runs.
type network interface {
	rpc.Network
	// Status describes the daemon's place in the swarm.
	Status() rpc.NetworkStatus
	// Download fetches a range of c from peers.
	Download(ctx context.Context, c *store.Handle, r rpc.DownloadRange) (rpc.LocalDownload, error)
	// Extension registers an extension of c.
	Extension(c *store.Handle, name string, onMessage func(peer core.Key, data []byte)) (rpc.LocalExtension, error)
	// CoreNetwork is a core's part in the swarm.
	CoreNetwork(key core.Key) rpc.CoreNetwork
}

// localCore is a loaded core as the RPC server sees it: the store's handle,
// with the network for what needs peers.
type localCore struct {
	*store.Handle
	net network
}

var _ rpc.LocalCore = localCore{}

// Append appends through the store, whose disk-full refusal the client
// must see as rpc.ErrDiskFull.
func (c localCore) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	n, err := c.Handle.Append(ctx, blocks...)
	return n, storeErr(err)
}

// AppendHashed is Append with the leaf hashes the server computed as the
// blocks arrived.
func (c localCore) AppendHashed(ctx context.Context, blocks [][]byte, hashes [][32]byte) (uint64, error) {
	n, err := c.Handle.AppendHashed(ctx, blocks, hashes)
	return n, storeErr(err)
}

// Get fetches a missing block from peers while it waits, when there is a
// network; NoWait never waits, so never fetches.
func (c localCore) Get(ctx context.Context, index uint64, opts core.GetOptions) ([]byte, error) {
	if f, ok := c.net.(fetcher); ok && !opts.NoWait && !c.Writable() {
		if has, err := c.Has(ctx, index); err == nil && !has {
			return f.fetch(ctx, c.Handle, index, opts)
		}
	}
	return c.Handle.Get(ctx, index, opts)
}

// Update waits for the length, asking peers for proofs of theirs when
// there is a network.
func (c localCore) Update(ctx context.Context, minLength uint64) (uint64, error) {
	if f, ok := c.net.(fetcher); ok && !c.Writable() && c.Length() < minLength {
		return f.update(ctx, c.Handle, minLength)
	}
	return c.Handle.Update(ctx, minLength)
}

// Seek finds a byte, asking peers for the tree nodes it needs when there
// is a network.
func (c localCore) Seek(ctx context.Context, byteOffset uint64) (uint64, uint64, error) {
	i, off, err := c.Handle.Seek(ctx, byteOffset)
	if f, ok := c.net.(fetcher); ok && errors.Is(err, core.ErrNotAvailable) && !c.Writable() {
		return f.seek(ctx, c.Handle, byteOffset)
	}
	return i, off, err
}

// NetworkInfo tells the core's part in the swarm, for its CoreInfo.
func (c localCore) NetworkInfo() rpc.CoreNetwork { return c.net.CoreNetwork(c.Key()) }

// Follow forwards the core's replication events (rpc.EventSource).
func (c localCore) Follow(fn func(rpc.Event)) (stop func()) {
	if s, ok := c.net.(*swarmNet); ok {
		return s.follow(c.Handle, fn)
	}
	return func() {}
}

// fetcher is a network that fetches what a Get, an Update or a Seek waits
// for.
type fetcher interface {
	fetch(ctx context.Context, c *store.Handle, index uint64, opts core.GetOptions) ([]byte, error)
	update(ctx context.Context, c *store.Handle, minLength uint64) (uint64, error)
	seek(ctx context.Context, c *store.Handle, byteOffset uint64) (uint64, uint64, error)
}

func (c localCore) Download(ctx context.Context, r rpc.DownloadRange) (rpc.LocalDownload, error) {
	return c.net.Download(ctx, c.Handle, r)
}

func (c localCore) Extension(name string, onMessage func(core.Key, []byte)) (rpc.LocalExtension, error) {
	return c.net.Extension(c.Handle, name, onMessage)
}
