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
// Sockets are Go's defaults: TCP_NODELAY set, keep-alives on. Conn's
// Transport names the transport, "tcp" for now; uTP, the DHT's discovery
// and the dedup of peers connected twice come later, in this package.
package swarm
