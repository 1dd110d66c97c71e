package dht

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Result is one answer to a lookup or announce: the peers a DHT node
// holds for the topic. Node is that node (the referrer to relay a
// holepunch through; its ID is zero if it is ephemeral), and To is our own
// address as it saw us.
type Result struct {
	Node       NodeInfo
	To         netip.AddrPort
	Peers      []netip.AddrPort
	LocalPeers []netip.AddrPort
}

// Stream delivers the results of a lookup or announce as they arrive.
type Stream struct {
	c    chan Result
	done chan struct{}
	err  error
}

// Results is closed when the query ends.
func (s *Stream) Results() <-chan Result { return s.c }

// Done is closed when the query ends.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is the query's outcome, once Done is closed.
func (s *Stream) Err() error {
	<-s.done
	return s.err
}

// Wait drains the stream and returns every result and the outcome.
func (s *Stream) Wait() ([]Result, error) {
	var out []Result
	for r := range s.c {
		out = append(out, r)
	}
	return out, s.Err()
}

// PeersOptions are the options of Announce, Unannounce and Lookup.
type PeersOptions struct {
	// Port is the port to record; 0 means the UDP source port, which is
	// what hyperswarm announces (the TCP port is the same number).
	Port uint16
	// LocalAddress, if valid, is sent as the LAN address (rarely used).
	LocalAddress netip.AddrPort
}

func (o PeersOptions) input(announce bool) *PeersInput {
	in := &PeersInput{HasPort: announce || o.Port != 0, Port: uint32(o.Port)}
	if a, ok := Normalize(o.LocalAddress); ok {
		in.LocalAddress = encodePeer(a)
	}
	return in
}

// Lookup walks towards topic with `peers` queries and streams the peers
// found.
func (n *Node) Lookup(ctx context.Context, topic [32]byte, opts PeersOptions) *Stream {
	return n.peersQuery(ctx, topic, opts, false)
}

// Announce looks topic up like Lookup, then stores our address with the
// ≤ 20 closest nodes that answered. The stream ends with the update phase.
func (n *Node) Announce(ctx context.Context, topic [32]byte, opts PeersOptions) *Stream {
	return n.peersQuery(ctx, topic, opts, true)
}

func (n *Node) peersQuery(ctx context.Context, topic [32]byte, opts PeersOptions, announce bool) *Stream {
	n.resolveIfNeeded(ctx)
	s := &Stream{c: make(chan Result, n.limits.QueryRequests+len(n.bootstrap)+1), done: make(chan struct{})}
	in := opts.input(announce)
	q := &query{n: n, target: topic, command: cmdPeers, value: in.Encode(), query: true, update: announce}
	q.onValue = func(res *Message, from netip.AddrPort) {
		if r, ok := peersResult(res, from, in.LocalAddress); ok {
			select {
			case s.c <- r:
			default:
			}
		}
	}
	go func() {
		s.err = n.run(ctx, q, func() { close(s.c) })
		if s.err != nil {
			s.err = fmt.Errorf("dht %s %x: %w", map[bool]string{true: "announce", false: "lookup"}[announce], topic[:4], s.err)
		}
		close(s.done)
	}()
	return s
}

// peersResult decodes a `peers` response; ok is false when it holds none.
func peersResult(res *Message, from netip.AddrPort, localAddr []byte) (Result, bool) {
	out, err := DecodePeersOutput(res.Value)
	if res.Value == nil || err != nil || (out.Peers == nil && out.LocalPeers == nil) {
		return Result{}, false
	}
	r := Result{Node: NodeInfo{Addr: from}}
	r.Node.ID, _ = idFrom(res.ID)
	r.To, _ = decodePeer(res.To)
	r.Peers, _ = decodePeerList(out.Peers)
	if len(localAddr) == 6 && out.LocalPeers != nil {
		r.LocalPeers, _ = decodeLocalPeers([2]byte(localAddr[:2]), out.LocalPeers)
	}
	return r, true
}

// Unannounce walks towards topic with _find_node and asks the ≤ 20
// closest nodes to drop our record.
func (n *Node) Unannounce(ctx context.Context, topic [32]byte, opts PeersOptions) error {
	n.resolveIfNeeded(ctx)
	in := opts.input(true)
	in.Unannounce = true
	q := &query{n: n, target: topic, command: cmdPeers, value: in.Encode(), update: true}
	if err := n.run(ctx, q, nil); err != nil {
		return fmt.Errorf("dht unannounce %x: %w", topic[:4], err)
	}
	return nil
}

// Bootstrap resolves the bootstrap list and walks towards our own id,
// filling the routing table. Status().Bootstrapped turns true once a node
// answered (or at once with an empty list: this node is a seed).
func (n *Node) Bootstrap(ctx context.Context) error {
	addrs := n.resolve(ctx)
	var q *query
	n.do(func() {
		n.bootAddrs, n.booting = addrs, true
		if len(n.bootstrap) == 0 {
			n.booted = true
		}
	})
	if len(n.bootstrap) == 0 {
		n.do(func() { n.booting = false })
		return nil
	}
	q = &query{n: n, target: n.id, command: cmdFindNode, query: true}
	err := n.run(ctx, q, func() {
		n.booting = false
		n.bootWalks++
		if q.responses > 0 {
			n.booted = true
		}
	})
	if err != nil {
		return fmt.Errorf("dht bootstrap: %w", err)
	}
	return nil
}

// run starts q and waits for it to finish or ctx to end; onEnd runs
// locked as it finishes.
func (n *Node) run(ctx context.Context, q *query, onEnd func()) error {
	done := make(chan error, 1)
	q.onDone = func(err error) {
		if onEnd != nil {
			onEnd()
		}
		done <- err
	}
	n.do(func() {
		if n.closed {
			q.phase = finished
			if onEnd != nil {
				onEnd()
			}
			done <- ErrClosed
			return
		}
		q.start()
	})
	stop := context.AfterFunc(ctx, func() { n.do(func() { q.finish(ctx.Err()) }) })
	defer stop()
	return <-done
}

// Holepunch asks referrer to relay a holepunch to peer and waits for the
// peer's answer, which opens both NATs. It retries as any request (3
// sends, about 7 s in all).
func (n *Node) Holepunch(ctx context.Context, peer, referrer netip.AddrPort) error {
	peer, ok1 := Normalize(peer)
	referrer, ok2 := Normalize(referrer)
	if !ok1 || !ok2 {
		return errors.New("dht holepunch: need IPv4 peer and referrer")
	}
	msg := Message{Version: ProtocolVersion, Type: TypeQuery, To: encodePeer(peer), Command: cmdHolepunch}
	_, err := n.roundTrip(ctx, msg, peer, referrer)
	if err != nil {
		return fmt.Errorf("dht holepunch %s via %s: %w", peer, referrer, err)
	}
	return nil
}

// Ping pings addr and returns our address as it saw us.
func (n *Node) Ping(ctx context.Context, addr netip.AddrPort) (netip.AddrPort, error) {
	addr, ok := Normalize(addr)
	if !ok {
		return netip.AddrPort{}, errors.New("dht ping: need an IPv4 address")
	}
	msg := Message{Version: ProtocolVersion, Type: TypeQuery, To: encodePeer(addr), Command: cmdPing}
	res, err := n.roundTrip(ctx, msg, addr, netip.AddrPort{})
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("dht ping %s: %w", addr, err)
	}
	if res.Error != "" {
		return netip.AddrPort{}, fmt.Errorf("dht ping %s: %s", addr, res.Error)
	}
	to, ok := decodePeer(res.To)
	if !ok {
		to, ok = decodePeer(res.Value)
	}
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("dht ping %s: invalid pong", addr)
	}
	return to, nil
}

// roundTrip sends one request and waits for its response.
func (n *Node) roundTrip(ctx context.Context, msg Message, to, referrer netip.AddrPort) (*Message, error) {
	type answer struct {
		res *Message
		err error
	}
	ch := make(chan answer, 1)
	var r *request
	n.do(func() {
		msg.ID = n.idBytes()
		r = &request{msg: msg, to: to, referrer: referrer,
			done: func(res *Message, _ netip.AddrPort, err error) { ch <- answer{res, err} }}
		n.request(r)
	})
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		n.do(func() { n.cancel(r, ctx.Err()) })
		a := <-ch
		return a.res, a.err
	}
}

// SetPersistent switches an ephemeral node to persistent: it starts
// sending its id and bootstraps again, as dht-rpc's persistent().
func (n *Node) SetPersistent(ctx context.Context) error {
	n.do(func() { n.persistent = true })
	return n.Bootstrap(ctx)
}
