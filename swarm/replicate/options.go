package replicate

import (
	"context"
	"log/slog"
	"time"

	"github.com/hspd/hsp/core"
)

// Core is what the replicator needs of a core; *core.Hypercore has it.
type Core interface {
	Key() core.Key
	DiscoveryKey() core.DiscoveryKey
	Writable() bool
	Length() uint64
	Has(ctx context.Context, index uint64) (bool, error)
	HasNode(x uint64) bool
	Get(ctx context.Context, index uint64, opts core.GetOptions) ([]byte, error)
	AppendBlock(ctx context.Context, dst []byte, index uint64) ([]byte, error)
	Seek(ctx context.Context, byteOffset uint64) (index, offset uint64, err error)
	Downloaded(ctx context.Context, start, end uint64) (uint64, error)
	Digest(index uint64) uint64
	DigestWith(index uint64, extra func(x uint64) bool, top uint64) uint64
	Proof(ctx context.Context, index, digest uint64, hash bool, remote *core.RemoteTree) (core.Proof, error)
	ImportBatch(ctx context.Context, ds []core.Data) (int, error)
	HaveBitfield(start, length uint64) []byte
	Changed() <-chan struct{}
}

var _ Core = (*core.Hypercore)(nil)

// CoreOptions says how one core is replicated.
type CoreOptions struct {
	// Sparse: fetch only what Get, Download and Update ask for. Otherwise
	// the core downloads every block its peers have (unless writable).
	Sparse bool
	// NoUpload: answer no requests and say uploading: false.
	NoUpload bool
	// Serve, if set, is asked before each upload (and for the Status a
	// channel opens with): false answers no requests, as NoUpload. It
	// runs with the core's lock held and must not block.
	Serve func() bool
	// OnEvent, if set, receives the core's replication events. It runs
	// with the core's lock held: it must not block nor call back into the
	// replicator.
	OnEvent func(Event)
	// Release, if set, runs once the replicator forgets a core it served
	// without Add (one Lookup found), after its last channel closed: the
	// owner may unload it.
	Release func()
}

// EventKind says what an Event is.
type EventKind int

// The kinds of Event.
const (
	// PeerAdd: a peer started replicating the core; PeerRemove: it stopped.
	PeerAdd EventKind = iota + 1
	PeerRemove
	// Download: block Index (Bytes long) from Peer was verified and
	// stored. Upload: it was sent to Peer.
	Download
	Upload
)

// Event is one thing that happened to a core's replication.
type Event struct {
	Kind         EventKind
	Peer         PeerInfo
	Index, Bytes uint64
}

// Lookup finds a core a remote opened that was not added: the daemon
// looks the discovery key up in its store. ok false rejects the channel.
type Lookup func(ctx context.Context, dk core.DiscoveryKey) (c Core, opts CoreOptions, ok bool)

// AckFunc receives a peer's acknowledgement that it stored block index of
// the core dk from us (ack mode).
type AckFunc func(peer PeerInfo, dk core.DiscoveryKey, index uint64)

// StreamExtensionFunc receives a stream-level extension message.
type StreamExtensionFunc func(peer PeerInfo, name string, payload []byte)

// ExtensionFunc receives an extension message for a core from a peer.
type ExtensionFunc func(peer PeerInfo, dk core.DiscoveryKey, name string, payload []byte)

// Defaults of Options.
const (
	DefaultMinWindow        = 16
	DefaultMaxWindow        = 512
	DefaultMaxPeerBytes     = 8 << 20
	DefaultRequestTimeout   = 10 * time.Second
	DefaultStallTimeout     = 20 * time.Second
	DefaultTick             = 50 * time.Millisecond
	DefaultBatchBlocks      = 512
	DefaultBatchBytes       = 8 << 20
	DefaultBatchLinger      = 2 * time.Millisecond
	DefaultImportQueueBytes = 32 << 20
	DefaultServeBytes       = 4 << 20
	DefaultHighWater        = 32 << 20
	DefaultMaxUnrequested   = 2048
	DefaultMaxUnknownOpens  = 256
	DefaultMaxRemoteBlocks  = 1 << 24
)

// Options configures a Replicator. Zero fields take the defaults above.
type Options struct {
	// Logger receives disconnect reasons and failures; nil discards.
	Logger *slog.Logger
	// Lookup serves cores a remote opens that were not added.
	Lookup Lookup
	// Extensions are the extension names offered on every core's channel;
	// OnExtension receives their messages.
	Extensions  []string
	OnExtension ExtensionFunc

	// NonLive replicates as hypercore's replicate() without live does
	// (spec section 7.5): a core's channel closes once neither side needs
	// anything of the other (a full core has every block the peer has and
	// says downloading: false; the side that hears it and needs nothing
	// more says uploading: false, downloading: false and closes), and a
	// stream ends once its last channel closed. Hyperspace replicates live,
	// the default: channels stay open and appends keep flowing.
	NonLive bool
	// StreamExtensions are the stream-level (channel 0) extension names
	// of hypercore-protocol 8, announced in a channel-0 Options before our
	// first stream extension message; OnStreamExtension receives the
	// peers' messages for them (Replicator.SendStreamExtension sends).
	StreamExtensions  []string
	OnStreamExtension StreamExtensionFunc
	// Ack asks peers to acknowledge every block they store from us
	// (Options{ack: true}, section 7.7); OnAck receives the
	// acknowledgements. Peers asking us for acks get them either way.
	Ack   bool
	OnAck AckFunc

	// MinWindow and MaxWindow bound a peer's outstanding requests per core;
	// MaxPeerBytes bounds the bytes a peer may owe us for one core.
	MinWindow, MaxWindow int
	MaxPeerBytes         int
	// RequestTimeout: a request unanswered this long goes to another peer.
	RequestTimeout time.Duration
	// StallTimeout: a peer whose connection takes one write this long is
	// cut off as a slow reader.
	StallTimeout time.Duration
	// Tick is how often timeouts and windows are checked.
	Tick time.Duration

	// BatchBlocks and BatchBytes bound one import batch; BatchLinger is how
	// long a small batch waits for more.
	BatchBlocks, BatchBytes int
	BatchLinger             time.Duration
	// ImportQueueBytes: no new requests while this much awaits import.
	ImportQueueBytes int

	// ServeBytes: requests are served while less than this is queued for a
	// peer; HighWater cuts the peer off when more is.
	ServeBytes, HighWater int
	// MaxUnrequested and MaxUnknownOpens are the bounds past which a peer
	// that sends unrequested Data or Opens of unknown cores is cut off.
	MaxUnrequested, MaxUnknownOpens int
	// MaxRemoteBlocks bounds the block indices a peer's Haves may cover
	// (what we remember of a peer costs at most MaxRemoteBlocks/8 bytes a
	// core).
	MaxRemoteBlocks uint64

	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	setInt(&o.MinWindow, DefaultMinWindow)
	setInt(&o.MaxWindow, DefaultMaxWindow)
	setInt(&o.MaxPeerBytes, DefaultMaxPeerBytes)
	setInt(&o.BatchBlocks, DefaultBatchBlocks)
	setInt(&o.BatchBytes, DefaultBatchBytes)
	setInt(&o.ImportQueueBytes, DefaultImportQueueBytes)
	setInt(&o.ServeBytes, DefaultServeBytes)
	setInt(&o.HighWater, DefaultHighWater)
	setInt(&o.MaxUnrequested, DefaultMaxUnrequested)
	setInt(&o.MaxUnknownOpens, DefaultMaxUnknownOpens)
	setDur(&o.RequestTimeout, DefaultRequestTimeout)
	setDur(&o.StallTimeout, DefaultStallTimeout)
	setDur(&o.Tick, DefaultTick)
	setDur(&o.BatchLinger, DefaultBatchLinger)
	if o.MaxRemoteBlocks == 0 {
		o.MaxRemoteBlocks = DefaultMaxRemoteBlocks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func setInt(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

func setDur(v *time.Duration, def time.Duration) {
	if *v <= 0 {
		*v = def
	}
}
