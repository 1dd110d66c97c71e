package dht

import (
	"log/slog"
	"net/netip"
)

// Options configure a Node. The zero value is an ephemeral node with a
// random id, no bootstrap nodes, JS's timings and limits, and no logging.
type Options struct {
	// ID is the node id; zero means random.
	ID ID
	// Persistent makes the node send its id, so that others keep it in
	// their routing tables and store `peers` records with it. The default
	// is ephemeral, as the hyperspace CLI runs.
	Persistent bool
	// Bootstrap lists "host:port" entries (":port" and "port" mean
	// 127.0.0.1). Hostnames are resolved at each bootstrap.
	Bootstrap []string
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
	// Clock supplies time and timers; nil is the real clock.
	Clock Clock
	// Timing overrides periods; zero fields keep the JS defaults.
	Timing Timing
	// Concurrency (16) and RPS (50): new requests wait in a queue while
	// at least Concurrency are in flight and at least RPS were sent in the
	// last second, as in dht-rpc. Concurrency is also a query's width.
	Concurrency int
	RPS         int
	// Limits bound what remotes can make the node hold.
	Limits Limits
	// OnEvent, if set, is called for every Event, outside the node's lock.
	OnEvent func(Event)
}

// Limits bound every table a remote node can grow. Zero fields take the
// defaults next to them.
type Limits struct {
	Records         int // 65536 peers records per generation (as JS's maxSize)
	RecordsPerTopic int // 1024 records per topic (JS: unbounded)
	Topics          int // 16384 topics per generation (JS: bounded by Records)
	Pending         int // 4096 requests waiting to be sent; beyond, they fail
	Inflight        int // 2048 requests in flight; beyond, they wait
	QueryRequests   int // 256 requests a single query walk may send
	InboundPerAddr  int // 1000 datagrams per second from one ip:port
	InboundAddrs    int // 16384 source addresses counted per second
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Records, 65536)
	def(&l.RecordsPerTopic, 1024)
	def(&l.Topics, 16384)
	def(&l.Pending, 4096)
	def(&l.Inflight, 2048)
	def(&l.QueryRequests, 256)
	def(&l.InboundPerAddr, 1000)
	def(&l.InboundAddrs, 16384)
	return l
}

// EventType names an Event.
type EventType string

// The events a node reports.
const (
	EventAnnounce   EventType = "announce"   // a peer announced Topic from From
	EventUnannounce EventType = "unannounce" // a peer unannounced Topic from From
	EventLookup     EventType = "lookup"     // a peer looked Topic up from From
	EventHolepunch  EventType = "holepunch"  // we relayed a holepunch From → To
	EventAddNode    EventType = "add-node"   // Node entered the routing table
	EventRemoveNode EventType = "remove-node"
)

// Event is something that happened on the node, for logs and `hsp dht`.
type Event struct {
	Type  EventType
	Topic ID
	From  netip.AddrPort
	To    netip.AddrPort
	Node  NodeInfo
	Nodes int // routing-table size after the event
}

// Status is a snapshot of the node.
type Status struct {
	ID           ID
	Persistent   bool
	Nodes        int  // routing-table size
	Bootstrapped bool // a bootstrap query got an answer (or none was configured)
	// BootstrapWalks counts the bootstrap walks that ended: with none
	// Bootstrapped, not one bootstrap node answered any of them.
	BootstrapWalks int
	RemoteAddress  netip.AddrPort
	Holepunchable  bool
	Records        int
	Inflight       int
	Pending        int
}
