package rpc

import (
	"context"

	"github.com/hspd/hsp/core"
)

// Backend is what the RPC server exposes: the daemon implements it, and the
// server only translates between it and Cap'n Proto. Every method may be
// called concurrently.
type Backend interface {
	// Status describes the daemon; the server fills Clients and Protocol.
	Status(ctx context.Context) (Status, error)
	// Stop begins a clean shutdown and returns at once.
	Stop(ctx context.Context) error
	// Open returns a handle on a core; see OpenRequest.
	Open(ctx context.Context, req OpenRequest) (Handle, error)
	// List describes every stored core.
	List(ctx context.Context) ([]CoreInfo, error)
	// Delete removes a core's data; ErrNotFound if there is none.
	Delete(ctx context.Context, key core.Key) error
	// Network is the daemon's side of the swarm.
	Network() Network
}

// Network is the daemon's place in the swarm: which discovery keys it
// announces and looks up, and the peers it is connected to. A daemon
// without networking answers every call with ErrNetworkUnavailable.
type Network interface {
	// Configure sets how one client session wants a discovery key joined;
	// see ConfigureOptions. The daemon joins each key for the OR of what
	// its sessions configured and of what is remembered.
	Configure(ctx context.Context, session SessionID, dk core.DiscoveryKey, opts ConfigureOptions) error
	// EndSession drops every configuration of a session, which ended;
	// remembered ones stay.
	EndSession(ctx context.Context, session SessionID)
	// Seed seeds a core: announced and looked up, remembered, and
	// downloaded whole and live, across restarts. Unseed undoes it all,
	// leaving the data.
	Seed(ctx context.Context, key core.Key) error
	Unseed(ctx context.Context, key core.Key) error
	// TopicStatus tells how one discovery key is configured.
	TopicStatus(ctx context.Context, dk core.DiscoveryKey) (TopicStatus, error)
	// Topics lists every configured discovery key.
	Topics(ctx context.Context) ([]TopicStatus, error)
	// Peers lists the connected peers and the disconnects counted.
	Peers(ctx context.Context) (PeerList, error)
	// Connect dials a replication peer at HOST:PORT and returns it once
	// the connection is up. The connection is kept (dialled again when it
	// drops) until closeConn is called.
	Connect(ctx context.Context, addr string) (p Peer, closeConn func(), err error)
}

// SessionID names one client connection, unique for the daemon's life.
type SessionID uint64

// OpenRequest names the core to open: by Key, by Name (a writable core
// derived from the daemon's master key, created on first use), or New (a
// fresh random writable core). Exactly one is set. A Key the store does
// not hold is recorded, so it can be replicated, unless Existing is set:
// then it is ErrNotFound.
type OpenRequest struct {
	Key      *core.Key
	Name     string
	New      bool
	Existing bool
}

// LocalCore is a core as the daemon holds it: a core.Core that also tells
// when it changes, fetches ranges from peers and carries extensions.
type LocalCore interface {
	core.Core
	// Changed returns a channel closed at the core's next change.
	Changed() <-chan struct{}
	// Download starts fetching a range of blocks from peers. It lasts
	// until the range is complete, Cancel, or ctx ends.
	Download(ctx context.Context, r DownloadRange) (LocalDownload, error)
	// Extension registers an extension by name: messages under that name
	// between the peers that replicate the core. onMessage runs, in order,
	// for each message a peer sends.
	Extension(name string, onMessage func(peer core.Key, data []byte)) (LocalExtension, error)
}

// EventSource is a LocalCore with events of its own besides appends:
// peers coming and going, blocks downloaded and uploaded. The server
// forwards them to the core's subscribers.
type EventSource interface {
	// Follow calls fn for each such event until stop is called. fn does
	// not block.
	Follow(fn func(Event)) (stop func())
}

// DownloadRange is a range of blocks to fetch: [Start, End), or with Live
// and End 0 everything from Start on, for good. With ToPeers, End is
// the longest length a peer announces when the download starts. With
// Discover the daemon looks the core's topic up on the DHT and dials the
// peers found while the download runs.
type DownloadRange struct {
	Start, End uint64
	Live       bool
	ToPeers    bool
	Discover   bool
}

// LocalDownload is a range being fetched.
type LocalDownload interface {
	// Done is closed once the range is complete or the download ends.
	Done() <-chan struct{}
	// Err, after Done, is nil when the range is complete and otherwise
	// tells why the download ended.
	Err() error
	// Cancel undownloads the range.
	Cancel()
	// Progress tells how far the download is.
	Progress() DownloadProgress
}

// LocalExtension is a registered extension of one core.
type LocalExtension interface {
	// Send sends data to peer, or to every peer when peer is nil, and
	// returns how many peers it went to.
	Send(ctx context.Context, data []byte, peer *core.Key) (int, error)
	// Close unregisters the extension.
	Close()
}

// Handle is one client's reference to an open core. The server calls
// Release exactly once, when the client closes the core or disconnects;
// the backend then decides whether to unload the core.
type Handle struct {
	Core    LocalCore
	Name    string
	Release func()
}
