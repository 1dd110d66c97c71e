package rpc

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hspd/hsp/core"
)

// memPeer is the one peer of memNetwork: it echoes every extension message
// back to the handlers registered under the same name.
var memPeer = core.Key{0xee, 0x01}

var errOffline = fmt.Errorf("no network in this test: %w", ErrNetworkUnavailable)

// memNetwork is a Network in memory, so the RPC tests check that every
// call and answer crosses Cap'n Proto intact.
// An offline memNetwork answers as a daemon without networking does.
type memNetwork struct {
	offline bool
	mu      sync.Mutex
	topics  map[core.DiscoveryKey]TopicStatus
	exts    map[string][]func(core.Key, []byte)
	conns   map[string]bool // kept connections, by address
	// sessions holds each session's configured keys; ended the sessions
	// EndSession was called for; seeds the seeded cores.
	sessions map[SessionID][]core.DiscoveryKey
	ended    []SessionID
	seeds    map[core.Key]bool
}

func (n *memNetwork) EndSession(ctx context.Context, s SessionID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ended = append(n.ended, s)
}

func (n *memNetwork) endedSessions() []SessionID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]SessionID(nil), n.ended...)
}

func (n *memNetwork) Seed(ctx context.Context, key core.Key) error {
	if n.offline {
		return errOffline
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seeds == nil {
		n.seeds = map[core.Key]bool{}
	}
	n.seeds[key] = true
	return nil
}

func (n *memNetwork) Unseed(ctx context.Context, key core.Key) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.seeds[key] {
		return fmt.Errorf("unseed %s: %w", key, ErrNotFound)
	}
	delete(n.seeds, key)
	return nil
}

func (n *memNetwork) Configure(ctx context.Context, s SessionID, dk core.DiscoveryKey, opts ConfigureOptions) error {
	if n.offline {
		return errOffline
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sessions == nil {
		n.sessions = map[SessionID][]core.DiscoveryKey{}
	}
	n.sessions[s] = append(n.sessions[s], dk)
	n.topics[dk] = TopicStatus{DiscoveryKey: dk, Announce: opts.Announce, Lookup: opts.Lookup, Remember: opts.Remember}
	return nil
}

func (n *memNetwork) TopicStatus(ctx context.Context, dk core.DiscoveryKey) (TopicStatus, error) {
	if n.offline {
		return TopicStatus{}, errOffline
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ts, ok := n.topics[dk]
	if !ok {
		return ts, fmt.Errorf("topic %s: %w", dk, ErrNotFound)
	}
	return ts, nil
}

func (n *memNetwork) Topics(ctx context.Context) ([]TopicStatus, error) {
	if n.offline {
		return nil, errOffline
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []TopicStatus
	for _, ts := range n.topics {
		out = append(out, ts)
	}
	slices.SortFunc(out, func(a, b TopicStatus) int { return slices.Compare(a.DiscoveryKey[:], b.DiscoveryKey[:]) })
	return out, nil
}

func (n *memNetwork) Peers(ctx context.Context) (PeerList, error) {
	if n.offline {
		return PeerList{}, errOffline
	}
	p := Peer{RemotePublicKey: memPeer, RemoteAddress: "127.0.0.1:1", Type: "tcp", UploadedBytes: 7,
		DiscoveryKeys: []core.DiscoveryKey{{9}}}
	return PeerList{Peers: []Peer{p}, Disconnects: map[string]uint64{"bad-data": 2}}, nil
}

func (n *memNetwork) Connect(ctx context.Context, addr string) (Peer, func(), error) {
	if n.offline {
		return Peer{}, nil, errOffline
	}
	if addr == "refuse:1" {
		return Peer{}, nil, fmt.Errorf("connect to %s: %w", addr, ErrNetworkUnavailable)
	}
	n.mu.Lock()
	if n.conns == nil {
		n.conns = map[string]bool{}
	}
	n.conns[addr] = true
	n.mu.Unlock()
	closeConn := func() {
		n.mu.Lock()
		delete(n.conns, addr)
		n.mu.Unlock()
	}
	return Peer{RemotePublicKey: memPeer, RemoteAddress: addr, Type: "tcp", Initiator: true}, closeConn, nil
}

// kept reports whether the connection to addr is kept.
func (n *memNetwork) kept(addr string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[addr]
}

// memCore is a LocalCore over an in-memory Hypercore.
type memCore struct {
	*core.Hypercore
	net *memNetwork
}

// Download completes once the range is here; nothing fetches it.
func (c *memCore) Download(ctx context.Context, r DownloadRange) (LocalDownload, error) {
	ctx, cancel := context.WithCancel(ctx)
	d := &memDownload{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(d.done)
		for {
			changed := c.Changed()
			if !r.Live {
				if n, err := c.Downloaded(ctx, r.Start, r.End); err != nil || n == r.End-r.Start {
					d.err = err
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
				d.err = fmt.Errorf("download cancelled: %w", context.Canceled)
				return
			}
		}
	}()
	return d, nil
}

type memDownload struct {
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

func (d *memDownload) Done() <-chan struct{} { return d.done }
func (d *memDownload) Err() error            { return d.err }
func (d *memDownload) Cancel()               { d.cancel() }
func (d *memDownload) Progress() DownloadProgress {
	select {
	case <-d.done:
		return DownloadProgress{Done: d.err == nil, Peers: 1}
	default:
		return DownloadProgress{Peers: 1}
	}
}

func (c *memCore) Extension(name string, onMessage func(core.Key, []byte)) (LocalExtension, error) {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	c.net.exts[name] = append(c.net.exts[name], onMessage)
	return &memExtension{net: c.net, name: name}, nil
}

type memExtension struct {
	net  *memNetwork
	name string
}

// Send reaches memPeer, which echoes the message to every handler of the
// name.
func (x *memExtension) Send(ctx context.Context, data []byte, peer *core.Key) (int, error) {
	if x.net.offline || peer != nil && *peer != memPeer {
		return 0, nil
	}
	x.net.mu.Lock()
	handlers := slices.Clone(x.net.exts[x.name])
	x.net.mu.Unlock()
	for _, h := range handlers {
		h(memPeer, data)
	}
	return 1, nil
}

func (x *memExtension) Close() {}
