// Package swarm owns the daemon's replication connections: one TCP
// listener, the dials, the addresses kept connected, and the cap on them
// all. It hands each connection, once its Noise handshake (package wire,
// hypercore-protocol 8) is done, to the Handler the caller declares as a
// *wire.Stream and a Conn describing the peer; what runs on the stream
// (the replicator) is not its business.
//
// A Swarm is made with New and lives until Close, or until Run returns:
//
//	s := swarm.New(swarm.Options{Port: port, KeyPair: kp, Handler: serve})
//	if err := s.Listen(); err != nil { ... } // the port is known, or in use
//	go s.Run(ctx)                              // accepts until ctx ends
//	kept, c, err := s.Keep(ctx, "203.0.113.7:49737")
//
// Admission. Every connection, accepted or dialled, holds one of MaxPeers
// places from accept (or the start of the dial) to its end, so a flood of
// silent sockets cannot exceed the cap: an accepted socket past it is
// closed at once, a Dial past it fails with ErrTooManyPeers. A socket that
// has not finished the handshake within HandshakeTimeout is closed. A bad
// connection (garbage, silence, a reset) ends only itself; Accept errors
// (EMFILE and such) back off and never end Run. Stats counts it all.
//
// Lifetime. A Handler's ctx ends when the swarm closes the connection;
// when the handler returns the connection closes, and its error is only
// logged (at debug). A dialled connection is not bound to Dial's ctx,
// which bounds the dial only. Close, and Run on its return, close the
// listener, every connection and keeper and wait for the handlers, so no
// goroutine of the swarm outlives them.
//
// Keep re-dials an address whenever its connection drops, with a backoff
// from RedialMin to RedialMax, until Kept.Stop or Close.
//
// Peers found by discovery (a topic's lookups, or AddPeer) go into
// hyperswarm's peer queue (queue.go): Run dials the best ready one while
// the swarm is below MaxPeers, retries with backoff and re-dials dropped
// connections. Right after each handshake the duplicate rule of
// hyperswarm (dedup.go) keeps one connection per pair of Noise keys, the
// same one at both ends. No Handler starts on a connection that is the
// duplicate when its handshake ends; one already running on a connection
// that a later one beats runs until that is closed.
//
// One port. Listen binds TCP and UDP with the same number. In cgo builds
// the UDP socket runs libutp (utp.go): uTP connections are accepted like
// TCP ones (the same admission, handshake timeout and Handler), and the
// datagrams that are not uTP go, through a bounded queue (drops counted in
// Stats.DHTDropped), to the DHT node, which sends from the same socket, so
// holepunches open the path uTP then takes. Without cgo (utp_nocgo.go) the
// swarm is TCP only and the UDP socket carries the DHT alone. With
// Options.STUN the same socket asks STUN servers for our mapped address
// (stun.go); their answers are taken off before libutp, which would claim
// a Binding success as uTP, and never reach the DHT. PublicAddress
// combines them with the DHT's tally (publicaddr.go).
//
// Networker (networker.go) decides which topics are joined: the OR of
// what each owner configured and of what its Memory remembers; Flush
// (flush.go) tells when everyone a topic's lookup found was tried.
//
// Connect dials a discovered peer as hyperswarm does (connect.go): TCP at
// once and, given the referrer that holds its record, a holepunch then
// uTP; the first handshake wins, the other attempt is destroyed, and both
// share one place. Dial and Keep are TCP only.
//
// Sockets are Go's defaults for TCP (TCP_NODELAY set, keep-alives on) and
// libutp's for uTP. Conn's Transport names the transport, "tcp" or "utp".
package swarm
