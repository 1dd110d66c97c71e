package daemon

import (
	"context"
	"fmt"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// network is what the daemon needs of the swarm: the RPC's Network, the
// network part of the status, and per core the fetching of ranges and the
// extensions. The daemon starts with offline; the swarm replaces it without
// a change to package rpc.
type network interface {
	rpc.Network
	// Status describes the daemon's place in the swarm.
	Status() rpc.NetworkStatus
	// Download fetches a range of c from peers.
	Download(ctx context.Context, c *store.Handle, r rpc.DownloadRange) (rpc.LocalDownload, error)
	// Extension registers an extension of c.
	Extension(c *store.Handle, name string, onMessage func(peer core.Key, data []byte)) (rpc.LocalExtension, error)
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

func (c localCore) Download(ctx context.Context, r rpc.DownloadRange) (rpc.LocalDownload, error) {
	return c.net.Download(ctx, c.Handle, r)
}

func (c localCore) Extension(name string, onMessage func(core.Key, []byte)) (rpc.LocalExtension, error) {
	return c.net.Extension(c.Handle, name, onMessage)
}

// offline is the network of a daemon without a swarm: every network call
// answers rpc.ErrNetworkUnavailable, a download completes when its blocks
// are here (appended, since nothing fetches them), and an extension
// reaches no peer.
type offline struct{}

var _ network = offline{}

func (offline) Status() rpc.NetworkStatus { return rpc.NetworkStatus{} }

func (offline) Configure(ctx context.Context, dk core.DiscoveryKey, opts rpc.ConfigureOptions) error {
	return fmt.Errorf("configure %s: %w", dk, rpc.ErrNetworkUnavailable)
}

func (offline) TopicStatus(ctx context.Context, dk core.DiscoveryKey) (rpc.TopicStatus, error) {
	return rpc.TopicStatus{}, fmt.Errorf("topic status: %w", rpc.ErrNetworkUnavailable)
}

func (offline) Topics(ctx context.Context) ([]rpc.TopicStatus, error) {
	return nil, fmt.Errorf("network statuses: %w", rpc.ErrNetworkUnavailable)
}

func (offline) Peers(ctx context.Context) ([]rpc.Peer, error) {
	return nil, fmt.Errorf("peers: %w", rpc.ErrNetworkUnavailable)
}

func (offline) Connect(ctx context.Context, addr string) (rpc.Peer, error) {
	return rpc.Peer{}, fmt.Errorf("connect to %s: %w", addr, rpc.ErrNetworkUnavailable)
}

func (offline) Download(ctx context.Context, c *store.Handle, r rpc.DownloadRange) (rpc.LocalDownload, error) {
	return waitForRange(ctx, c.Hypercore, r), nil
}

func (offline) Extension(c *store.Handle, name string, onMessage func(core.Key, []byte)) (rpc.LocalExtension, error) {
	return noPeers{}, nil
}

// noPeers is an extension with nobody to talk to.
type noPeers struct{}

func (noPeers) Send(ctx context.Context, data []byte, peer *core.Key) (int, error) { return 0, nil }
func (noPeers) Close()                                                             {}
