// Package replicate is the hypercore 9 replication engine: it exchanges
// cores over a wire.Stream with JS hypercore 9 peers and with other hsp
// processes, every block verified before it is stored.
//
// A Replicator holds the cores to replicate (Add) and runs one peer per
// stream (Run). Per channel it speaks the exchange of hypercore 9's
// lib/replicate.js (spec shared/spec/hypercore9.md, section 7): both Status
// fields always; Want{0, 1048576} answered by Have{length - 1} and a Have of
// the same length carrying the RLE bitfield; Requests only for blocks the
// peer announced, with digests so the responder sends minimal proofs; hash
// requests for Update and byte requests for Seek; every append and import
// announced at once to every peer that sent a Want (live mode); extension
// messages on the core's channel.
//
// Scheduling. Each core keeps one reservation set: a block is requested
// from one peer at a time, so several peers download different blocks at
// once and each block is fetched once. Explicit gets come first, then the
// ranges asked for (a non-sparse core asks for everything). Each peer has
// a window of outstanding requests (16 to 512): it doubles every round
// trip while the round trip stays near its floor, stops when requests
// start queueing at the responder, and halves on a timeout; a cap on the
// bytes a peer may owe bounds it too. A request that times out goes back
// to the pool for another peer, and a peer that goes, or says uploading:
// false, gives its reservations back at once.
//
// Digests stay fresh although requests run far ahead of imports: the
// nodes a peer's queued replies will bring count as held in the digests of
// later requests to that same peer (claims.go), and within groups of 8
// blocks a block is asked for only once its predecessor in bit order
// arrived (order.go), so most replies carry no proof at all: about 1.6
// proof nodes a block instead of about 9.
//
// Import. Received blocks are queued (a block keeps the frame body wire
// allocated for it and handed over, which the block is nearly all of;
// small fields are copied so they pin no frame); an importer per core
// verifies a run of them in the order they arrived against the committed
// tree plus what the run verified so far (core.Hypercore.ImportBatch) and
// commits them in one atomic, durable batch, bounded by blocks, bytes and
// a short linger. Each committed batch is announced with one Have per
// contiguous run. A crash loses at most the batches not yet committed,
// which are fetched again. The import queue gates new requests.
//
// Hostile peers. A peer is disconnected, with a logged reason and a counter
// (Replicator.Disconnects), for: a block or proof that does not verify
// (bad hash, bad signature, missing roots), garbage or oversized frames, a
// request for a block we do not have (never announced), more than twice the
// largest window of queued requests on a channel, more unrequested Data
// messages or unknown Opens than a bound, and not reading what it asked for
// (the send queue over its high-water mark, or one write stalled too long).
// Below those bounds it is treated as JS does: unrequested Data is dropped
// and answered with Unhave, an Open for a core we do not have gets its
// channel closed. Nothing unverified is stored and memory stays bounded.
//
// Writes. A peer's queued messages leave in bursts: the outbox hands
// wire up to 256 KiB of them at once (wire.Stream.SendBatch), which frames
// and encrypts them into one write, so a burst of small messages costs one
// system call. BufferedConn(conn) also gathers what separate writers (the
// outbox, keep-alives, channel opens) write close together.
//
// Live or not. Streams are live by default, as Hyperspace replicates: a
// peer saying downloading: false does not end the channel. With
// Options.NonLive a channel ends as hypercore 9's does without live
// (end.go): a full core that has every block the peer has says
// downloading: false; a side that hears downloading: false and needs
// nothing more of the peer says uploading: false, downloading: false and
// closes the channel, which the peer answers; a stream whose last channel
// closed ends and Run returns nil. Ack mode (Options.Ack, OnAck): we ask
// for, and always give, Have{index, 1, ack} for every stored block.
// Stream-level (channel 0) extensions: Options.StreamExtensions,
// OnStreamExtension and Replicator.SendStreamExtension.
//
// The package logs through the *slog.Logger of Options and nothing else;
// clocks and timers come from Options so tests run fast.
package replicate
