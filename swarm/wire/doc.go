// Package wire speaks hypercore-protocol 8, the replication stream of
// Hypercore 9 and the Hyperspace daemon, over a net.Conn.
//
// A Stream does, in order:
//
//   - the Noise_XX_25519_ChaChaPoly_BLAKE2b handshake, each message framed as
//     varint(length) || message and carrying NoisePayload{nonce} (24 random
//     bytes; the initiator sends the same nonce in messages 1 and 3);
//   - from then on, one continuous XSalsa20 keystream per direction: the
//     sender's split tx key with its own nonce, the receiver's rx key with
//     the remote nonce; no MAC, and chunking does not matter;
//   - frames varint(L) || varint(channel<<4 | type) || body, bodies at most
//     MaxBody (8 MiB), a lone 00 byte being a keep-alive;
//   - proto2 message bodies encoded exactly as the JS encoder does (see
//     Message for presence), and type 15 extension frames;
//   - channels: each side opens a core with Open{discoveryKey, capability}
//     on its lowest free local id (from 1; 0 is the stream itself) and
//     addresses frames with its own ids. The capability is
//     BLAKE2b-256(key = rx; "hypercore capability" || tx || publicKey), so
//     only a peer that knows the core's key can open it. A wrong
//     capability on a core open locally ends the stream, as JS does.
//
// Keep-alives go out after Config.KeepAlive (10 s) without sending; the
// stream ends after Config.Timeout (20 s) without receiving.
//
// A typical peer:
//
//	s := wire.NewStream(conn, wire.Config{Initiator: dialed, KeyPair: wire.ReplicationKeyPair(master)})
//	if err := s.Handshake(ctx); err != nil { ... }
//	ch, err := s.OpenChannel(key)
//	for {
//		ev, err := s.Recv(ctx)
//		switch ev.Kind {
//		case wire.EventChannelReady:   // send Status, Want ... with ev.Channel.Send
//		case wire.EventMessage:        // ev.Message on ev.Channel (nil: stream level)
//		case wire.EventRemoteOpen:     // s.OpenChannel(key) or s.Reject(ev.DiscoveryKey)
//		case wire.EventChannelClosed:
//		}
//	}
//
// The spec is shared/spec/hypercore9.md, sections 6 and 8; the JS sources
// are simple-hypercore-protocol 2.1.2, simple-message-channels 1.2.1 and
// hypercore-protocol 8.0.7. The package does no logging and knows nothing
// of replication logic; it imports only core of hsp.
package wire
