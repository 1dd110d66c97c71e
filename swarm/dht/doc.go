// Package dht is a Hyperswarm 2 DHT node: the Kademlia RPC of dht-rpc 4
// and the `peers` command of @hyperswarm/dht 4, interoperable with the JS
// nodes that hyperspace 3 runs. Topics are plain 32-byte keys; the package
// imports nothing else of hsp.
//
// # Wire
//
// Each UDP datagram is one proto2 Message (message.go), written in JS's
// field order with exact presence: a nil slice is an absent field, an
// empty one is present. A `peers` request always carries its value (JS
// dies without it), an error response never carries an empty error, and
// every successful response carries `to`, our id when persistent, and a
// roundtrip token, BLAKE2b-256(secret || requester IP) under two secrets
// rotated every 5 minutes. Decoders reject groups (wire types 3 and 4),
// truncation and known fields of the wrong wire type. Addresses are IPv4
// only; ::ffff:a.b.c.d is a.b.c.d.
//
// # Requests
//
// Responses are matched by rid alone (a holepunch answer comes from the
// punched host). A request is sent up to 3 times on a 750 ms tick (at 0,
// about 1.5–2.25 s and 3.75–4.5 s) and fails with ErrTimeout after 10
// ticks; requests wait in a bounded queue while 16 are in flight and 50
// went out in the last second. A request to a node learnt from a referrer
// that stays unanswered for 500 ms, and every retry, also sends a
// _holepunch through that referrer.
//
// # Routing table and queries
//
// The table keeps 20 nodes per bucket; a full bucket pings its oldest
// contacts and replaces the first that fails. Nodes enter it when they
// send a request or a response carrying a valid id, so ephemeral nodes
// (the default, as the hyperspace CLI runs) never do. Queries walk towards
// a target keeping the 20 closest candidates and the 20 closest verified
// answers; an update phase then sends UPDATEs with each node's token. A
// walk ends when it converges (20 answers, nothing closer left to ask),
// runs out of candidates, sends Limits.QueryRequests requests or reaches
// Timing.QueryTimeout (10 s). Two departures from dht-rpc, invisible on
// the wire: a walk is 16 wide by its own requests (dht-rpc counts the
// socket's, so parallel walks stall each other), and it stops waiting for
// a node at its first retry, so silent nodes cost 1.5–2.25 s, not 7.5 s.
//
// Remote nodes cannot grow any table without bound: peers records (per
// topic, topics, in all; a two-generation cache of 8–16 minutes), the
// routing table (256 buckets of 20), requests in flight and queued, the
// per-address inbound rate (Limits), and the nodes a walk asks.
//
// # Using a node
//
//	n, err := dht.Listen("0.0.0.0:49737", dht.Options{Bootstrap: []string{"host:49737"}})
//	err = n.Bootstrap(ctx)
//	s := n.Announce(ctx, topic, dht.PeersOptions{})   // then s.Wait()
//	for r := range n.Lookup(ctx, topic, dht.PeersOptions{}).Results() {
//		// r.Peers, found through r.Node (the referrer for Holepunch)
//	}
//
// To share a UDP socket with uTP, build the node with New, give it a
// SendFunc, and feed it the datagrams uTP does not claim through
// HandleDatagram. Every timer comes from Options.Clock and Options.Timing.
package dht
