package swarm

import (
	"context"
	"net/netip"

	"github.com/hspd/hsp/swarm/dht"
)

// Discovery makes us findable under a topic (a core's discovery key) and
// finds the peers of one. The DHT implements it; the swarm's connection
// queue and the daemon's networker use it.
type Discovery interface {
	// Announce stores our address under topic with the closest DHT nodes,
	// port being the one to record (0: the swarm's port), and streams the
	// peers the walk found on the way, as hyperswarm's announce does.
	// Records expire: announce again within RecordMaxAge·2/3 (8 minutes).
	Announce(ctx context.Context, topic [32]byte, port uint16) *Lookup
	// Unannounce asks the closest nodes to drop our record.
	Unannounce(ctx context.Context, topic [32]byte, port uint16) error
	// Lookup streams the peers announced under topic.
	Lookup(ctx context.Context, topic [32]byte) *Lookup
}

// Found is one peer a lookup found.
type Found struct {
	Topic [32]byte
	Addr  netip.AddrPort
	// Referrer is the DHT node that holds the record: a holepunch to Addr
	// is relayed through it.
	Referrer netip.AddrPort
	// Local is set when Addr came from the record's LAN list.
	Local bool
	// To is our own address as the referrer saw it: a peer on the same
	// host is probably behind our NAT (the queue tries it once).
	To netip.AddrPort
}

// maxFoundPerLookup bounds the distinct peers one lookup reports (and
// remembers, to report each once): DHT nodes choose what they answer.
const maxFoundPerLookup = 4096

// Lookup is the stream of one lookup's peers, each address once.
type Lookup struct {
	c    chan Found
	done chan struct{}
	err  error
}

// Found is closed when the lookup ends.
func (l *Lookup) Found() <-chan Found { return l.c }

// Err waits for the end of the lookup and says how it went; a lookup that
// asked every node it could and found nobody is no error.
func (l *Lookup) Err() error {
	<-l.done
	return l.err
}

// Discovery is the swarm's DHT as a Discovery, nil before Listen or
// without Options.DHT.
func (s *Swarm) Discovery() Discovery {
	if n := s.DHT(); n != nil {
		return dhtDiscovery{n}
	}
	return nil
}

type dhtDiscovery struct{ node *dht.Node }

func (d dhtDiscovery) Announce(ctx context.Context, topic [32]byte, port uint16) *Lookup {
	return follow(ctx, topic, d.node.Announce(ctx, topic, dht.PeersOptions{Port: port}))
}

func (d dhtDiscovery) Unannounce(ctx context.Context, topic [32]byte, port uint16) error {
	return d.node.Unannounce(ctx, topic, dht.PeersOptions{Port: port})
}

func (d dhtDiscovery) Lookup(ctx context.Context, topic [32]byte) *Lookup {
	return follow(ctx, topic, d.node.Lookup(ctx, topic, dht.PeersOptions{}))
}

// follow turns a DHT stream into a Lookup: each peer once, never our own
// address (as the answering node saw it), until the stream or ctx ends.
func follow(ctx context.Context, topic [32]byte, s *dht.Stream) *Lookup {
	l := &Lookup{c: make(chan Found), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer close(l.c)
		seen := map[netip.AddrPort]bool{}
		for r := range s.Results() {
			for _, f := range found(topic, r) {
				if seen[f.Addr] || f.Addr == r.To || len(seen) >= maxFoundPerLookup {
					continue
				}
				seen[f.Addr] = true
				select {
				case l.c <- f:
				case <-ctx.Done():
					l.err = ctx.Err() // the walk ends with ctx; its stream never blocks
					return
				}
			}
		}
		l.err = s.Err()
	}()
	return l
}

func found(topic [32]byte, r dht.Result) []Found {
	out := make([]Found, 0, len(r.Peers)+len(r.LocalPeers))
	for _, a := range r.Peers {
		out = append(out, Found{Topic: topic, Addr: a, Referrer: r.Node.Addr, To: r.To})
	}
	for _, a := range r.LocalPeers {
		out = append(out, Found{Topic: topic, Addr: a, Referrer: r.Node.Addr, Local: true, To: r.To})
	}
	return out
}
