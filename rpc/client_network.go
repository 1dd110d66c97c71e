package rpc

import (
	"context"
	"encoding/hex"
	"fmt"

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

// network returns the daemon's Network capability for one call.
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
	defer release()
	if _, err := f.Struct(); err != nil {
		return fmt.Errorf("configure %s: %w", dk, wireErr(err))
	}
	return nil
}

// Peers lists the daemon's connected peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.Peers(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", wireErr(err))
	}
	list, err := res.Peers()
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	out := make([]Peer, list.Len())
	for i := range out {
		out[i] = *readPeer(list.At(i))
	}
	return out, nil
}

// Topics lists the swarm configuration of every discovery key.
func (c *Client) Topics(ctx context.Context) ([]TopicStatus, error) {
	n, rel := c.network(ctx)
	defer rel()
	f, release := n.AllStatuses(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", wireErr(err))
	}
	list, err := res.Statuses()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]TopicStatus, list.Len())
	for i := range out {
		s := list.At(i)
		dk, _ := s.DiscoveryKey()
		out[i] = TopicStatus{DiscoveryKey: hex.EncodeToString(dk), Announce: s.Announce(), Lookup: s.Lookup()}
	}
	return out, nil
}
