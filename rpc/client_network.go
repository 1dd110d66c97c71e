package rpc

import (
	"context"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// ConfigureOptions says how the daemon treats a discovery key on the swarm.
type ConfigureOptions struct {
	// Announce and Lookup join the topic as a server and as a client.
	Announce, Lookup bool
	// Flush waits until the topic's first round of peers was tried.
	Flush bool
	// Remember keeps the configuration across daemon restarts.
	Remember bool
}

// network returns the daemon's Network capability, pipelined: the call on
// it goes out without waiting for the capability.
func (c *Client) network(ctx context.Context) (schema.Network, func()) {
	f, release := c.daemon.Network(ctx, nil)
	return f.Network(), release
}

// Configure joins or leaves a discovery key on the swarm.
func (c *Client) Configure(ctx context.Context, dk core.DiscoveryKey, opts ConfigureOptions) error {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Configure(ctx, func(p schema.Network_configure_Params) error {
		p.SetAnnounce(opts.Announce)
		p.SetLookup(opts.Lookup)
		p.SetFlush(opts.Flush)
		p.SetRemember(opts.Remember)
		return p.SetDiscoveryKey(dk[:])
	})
	_, err := await("configure "+dk.String(), clientErr, f.Struct, release, nothing)
	return err
}

// Seed has the daemon seed the core: announce and look it up, download
// all of it and keep it so across restarts.
func (c *Client) Seed(ctx context.Context, key core.Key) error {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Seed(ctx, func(p schema.Network_seed_Params) error { return p.SetKey(key[:]) })
	_, err := await("seed "+key.String(), clientErr, f.Struct, release, nothing)
	return err
}

// Unseed has the daemon stop seeding the core and forget it; the data
// stays.
func (c *Client) Unseed(ctx context.Context, key core.Key) error {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Unseed(ctx, func(p schema.Network_unseed_Params) error { return p.SetKey(key[:]) })
	_, err := await("unseed "+key.String(), clientErr, f.Struct, release, nothing)
	return err
}

// TopicStatus tells how the daemon treats one discovery key.
func (c *Client) TopicStatus(ctx context.Context, dk core.DiscoveryKey) (TopicStatus, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Status(ctx, func(p schema.Network_status_Params) error { return p.SetDiscoveryKey(dk[:]) })
	return await("topic status "+dk.String(), clientErr, f.Struct, release, func(res schema.Network_status_Results) (TopicStatus, error) {
		return TopicStatus{DiscoveryKey: dk, Announce: res.Announce(), Lookup: res.Lookup(), Rounds: res.Rounds(),
			Found: res.Found(), Remember: res.Remember()}, nil
	})
}

// Peers lists the daemon's connected peers and the disconnects counted.
func (c *Client) Peers(ctx context.Context) (PeerList, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Peers(ctx, nil)
	return await("list peers", clientErr, f.Struct, release, func(res schema.Network_peers_Results) (PeerList, error) {
		peers, err := list(res.Peers, readPeer)
		if err != nil {
			return PeerList{}, err
		}
		out := PeerList{Peers: peers, Disconnects: map[string]uint64{}}
		if res.HasDisconnects() {
			out.Disconnects, err = readCounts(res.Disconnects)
		}
		return out, err
	})
}

// Topics lists the swarm configuration of every discovery key.
func (c *Client) Topics(ctx context.Context) ([]TopicStatus, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.AllStatuses(ctx, nil)
	return await("list topics", clientErr, f.Struct, release, func(res schema.Network_allStatuses_Results) ([]TopicStatus, error) {
		return list(res.Statuses, readTopicStatus)
	})
}

// Connection is a replication connection the daemon keeps for this
// client: dialled again when it drops, until Close or the client goes.
type Connection struct {
	Peer Peer
	c    schema.Connection
}

// Connect has the daemon dial a replication peer at addr (HOST:PORT) and
// returns once connected. The daemon keeps the connection until Close.
func (c *Client) Connect(ctx context.Context, addr string) (*Connection, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Connect(ctx, func(p schema.Network_connect_Params) error { return p.SetAddress(addr) })
	return await("connect to "+addr, clientErr, f.Struct, release, func(res schema.Network_connect_Results) (*Connection, error) {
		p, err := field(res.Peer, readPeer)
		if err != nil {
			return nil, err
		}
		return &Connection{Peer: p, c: res.Connection().AddRef()}, nil
	})
}

// Close has the daemon close the connection and stop dialling it.
func (c *Connection) Close(ctx context.Context) error {
	f, release := c.c.Close(ctx, nil)
	_, err := await("close connection to "+c.Peer.RemoteAddress, clientErr, f.Struct, release, nothing)
	c.c.Release()
	return err
}
