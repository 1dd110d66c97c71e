package dht

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// ErrClosed is returned by calls on a closed node.
var ErrClosed = errors.New("dht node closed")

// SendFunc writes one datagram to addr. It must not block for long and
// must not call back into the node.
type SendFunc func(b []byte, to netip.AddrPort) error

type packet struct {
	b  []byte
	to netip.AddrPort
}

// Node is a DHT node. Its methods are safe for concurrent use. One mutex
// guards all state; sends and events are collected under it and handed
// out after it is released.
type Node struct {
	mu         sync.Mutex
	id         ID
	persistent bool
	send       SendFunc
	clock      Clock
	timing     Timing
	limits     Limits
	conc, rps  int
	log        *slog.Logger
	onEvent    func(Event)
	bootstrap  []string

	table     *table
	records   *records
	secrets   [2][32]byte
	tick      uint64
	bootAddrs []netip.AddrPort
	booted    bool
	booting   bool
	bootWalks int

	io      ioState
	queries int // walks running (dht-rpc's inflightQueries)
	limiter limiter

	outbox   []packet
	events   []Event
	deferred []func()
	closed   bool
	stops    []func()
	onClose  func()
	local    net.Addr
}

// New makes a node that sends through send and is fed datagrams through
// HandleDatagram, for a socket shared with another protocol.
func New(send SendFunc, opts Options) *Node {
	n := &Node{
		id:         opts.ID,
		persistent: opts.Persistent,
		send:       send,
		clock:      opts.Clock,
		timing:     opts.Timing.withDefaults(),
		limits:     opts.Limits.withDefaults(),
		conc:       opts.Concurrency,
		rps:        opts.RPS,
		log:        opts.Logger,
		onEvent:    opts.OnEvent,
		bootstrap:  append([]string(nil), opts.Bootstrap...),
	}
	n.defaults()
	n.booted = len(n.bootstrap) == 0 // a seed, as dht-rpc with no bootstrap nodes
	n.table = newTable(n.id)
	n.records = newRecords(n.limits)
	n.io = newIOState(n.rps)
	n.limiter = newLimiter(n.limits.InboundPerAddr, n.limits.InboundAddrs)
	n.startTimers()
	return n
}

func (n *Node) defaults() {
	if n.id.IsZero() {
		rand.Read(n.id[:])
	}
	if n.clock == nil {
		n.clock = realClock{}
	}
	if n.conc <= 0 {
		n.conc = 16
	}
	if n.rps <= 0 {
		n.rps = 50
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	rand.Read(n.secrets[0][:])
	rand.Read(n.secrets[1][:])
}

func (n *Node) startTimers() {
	t := n.timing
	n.stops = append(n.stops,
		repeat(n.clock, t.IOTick, func() { n.do(n.ioTick) }),
		repeat(n.clock, t.TableTick, func() { n.do(n.tableTick) }),
		repeat(n.clock, t.RotateSecrets, func() { n.do(n.rotate) }),
		repeat(n.clock, (t.RecordMaxAge*2+2)/3, func() { n.do(n.records.tick) }),
	)
}

// do runs f under the lock, then sends what f queued and reports events.
func (n *Node) do(f func()) {
	n.mu.Lock()
	f()
	for len(n.deferred) > 0 {
		d := n.deferred
		n.deferred = nil
		for _, g := range d {
			g()
		}
	}
	out, ev := n.outbox, n.events
	n.outbox, n.events = nil, nil
	n.mu.Unlock()
	for _, p := range out {
		if err := n.send(p.b, p.to); err != nil {
			n.log.Debug("send datagram", "to", p.to, "err", err)
		}
	}
	if n.onEvent != nil {
		for _, e := range ev {
			n.onEvent(e)
		}
	}
}

// later runs f at the end of the current locked section.
func (n *Node) later(f func()) { n.deferred = append(n.deferred, f) }

func (n *Node) emit(e Event) {
	e.Nodes = n.table.len()
	n.events = append(n.events, e)
}

func (n *Node) sendTo(b []byte, to netip.AddrPort) {
	if !n.closed {
		n.outbox = append(n.outbox, packet{b, to})
	}
}

// ID returns the node id (sent only when persistent).
func (n *Node) ID() ID { return n.id }

// idBytes is the id field of our messages: nil when ephemeral.
func (n *Node) idBytes() []byte {
	if !n.persistent {
		return nil
	}
	return n.id[:]
}

// token returns the roundtrip token of an IP under secret i.
func (n *Node) token(a netip.AddrPort, i int) []byte {
	h := blake2b.Sum256(append(n.secrets[i][:], a.Addr().String()...))
	return h[:]
}

func (n *Node) validToken(tok []byte, from netip.AddrPort) bool {
	if len(tok) != 32 {
		return false
	}
	return string(tok) == string(n.token(from, 0)) || string(tok) == string(n.token(from, 1))
}

func (n *Node) rotate() {
	n.secrets[1] = n.secrets[0]
	rand.Read(n.secrets[0][:])
}

// HandleDatagram feeds one datagram received from `from` to the node.
// It does not keep b.
func (n *Node) HandleDatagram(b []byte, from *net.UDPAddr) {
	a, ok := UDPAddrPort(from)
	if !ok {
		return
	}
	n.HandleDatagramFrom(b, a)
}

// HandleDatagramFrom is HandleDatagram with a netip address.
func (n *Node) HandleDatagramFrom(b []byte, from netip.AddrPort) {
	from, ok := Normalize(from)
	if !ok {
		return
	}
	b = append([]byte(nil), b...)
	n.do(func() { n.onDatagram(b, from) })
}

// Status returns a snapshot of the node.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	tos := n.table.latestTos(10)
	ra, hp := tally(tos, false)
	if !hp {
		ra, _ = tally(tos, true)
	}
	return Status{
		ID: n.id, Persistent: n.persistent, Nodes: n.table.len(), Bootstrapped: n.booted, BootstrapWalks: n.bootWalks,
		RemoteAddress: ra, Holepunchable: hp, Records: n.records.size(),
		Inflight: len(n.io.inflight), Pending: len(n.io.pending),
	}
}

// Nodes returns the routing table's nodes, least recently seen first.
func (n *Node) Nodes() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.table.nodes()
}

// AddNodes adds nodes to the routing table (to restore a saved one).
func (n *Node) AddNodes(nodes []NodeInfo) {
	n.do(func() {
		for _, c := range nodes {
			if a, ok := Normalize(c.Addr); ok {
				n.addNode(c.ID, a, nil, nil)
			}
		}
	})
}

// Close stops the node: timers end and every pending request fails with
// ErrClosed. A socket the node owns is closed.
func (n *Node) Close() error {
	var onClose func()
	n.do(func() {
		if n.closed {
			return
		}
		n.closed = true
		for _, s := range n.stops {
			s()
		}
		n.io.failAll(n, ErrClosed)
		onClose = n.onClose
	})
	if onClose != nil {
		onClose()
	}
	return nil
}
