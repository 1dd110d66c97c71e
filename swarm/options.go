package swarm

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/hspd/hsp/swarm/dht"
	"github.com/hspd/hsp/swarm/wire"
)

// Handler runs one connection's stream until it ends; when it returns the
// connection is closed. Its ctx ends when the swarm closes the connection
// (Close, Run's return, Kept.Stop); context.Cause then says why. An error
// just ends that connection.
type Handler func(ctx context.Context, s *wire.Stream, c Conn) error

// Defaults of Options.
const (
	DefaultMaxPeers         = 256
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultDialTimeout      = 10 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultAcceptBackoffMin = 5 * time.Millisecond
	DefaultAcceptBackoffMax = time.Second
	DefaultRedialMin        = 250 * time.Millisecond
	DefaultRedialMax        = 30 * time.Second
	DefaultRedialReset      = time.Minute
)

// Options configures a Swarm. Zero fields take the defaults above.
type Options struct {
	// Host is the listen host; "" means all interfaces.
	Host string
	// Port is the listen port; 0 means a random free port (see Addr).
	Port int
	// KeyPair is our Noise static key pair.
	KeyPair wire.KeyPair
	// Handler runs each connection's stream. Nil serves nothing: every
	// core the remote opens is rejected until the stream ends.
	Handler Handler
	// MaxPeers caps the live connections, both directions, counted from
	// accept (or the start of a dial) so that silent sockets count too.
	// An accepted connection past it is closed at once; a Dial past it
	// fails with ErrTooManyPeers.
	MaxPeers int
	// HandshakeTimeout: a socket that has not finished the Noise handshake
	// this long after accept or connect is closed.
	HandshakeTimeout time.Duration
	// DialTimeout bounds the TCP connect of a dial.
	DialTimeout time.Duration
	// ConnectTimeout bounds a Connect: all its attempts, the holepunch and
	// the handshakes included (hyperswarm's 10 s).
	ConnectTimeout time.Duration
	// AcceptBackoffMin and AcceptBackoffMax bound the pause after an
	// Accept error (EMFILE and such), doubling while errors go on; Accept
	// errors never end Run.
	AcceptBackoffMin, AcceptBackoffMax time.Duration
	// RedialMin and RedialMax bound the pause before Keep re-dials,
	// doubling while dials fail or connections drop quickly.
	RedialMin, RedialMax time.Duration
	// RedialReset: a kept connection that lasted this long resets the
	// re-dial pause to RedialMin.
	RedialReset time.Duration
	// Wire is the template of every stream's configuration (keep-alive,
	// timeout, channels); the swarm sets Initiator and KeyPair.
	Wire wire.Config
	// WrapConn, when set, wraps each connection before the stream takes it
	// (replicate.BufferedConn, say).
	WrapConn func(net.Conn) net.Conn
	// DHT, when set, runs a DHT node with these options on the UDP side
	// of the port (bound with the same number as the TCP listener), the
	// socket uTP runs on; Run bootstraps it. Nil binds the UDP port all
	// the same, so that the port stays one and uTP has its socket.
	DHT *dht.Options
	// NoTCP is for tests: the swarm neither dials TCP nor accepts it (the
	// port's TCP side is bound to choose the number, then closed, so
	// connects are refused), which leaves uTP alone.
	NoTCP bool
	// Topics times the per-topic announce and lookup loops (Join).
	Topics TopicTiming
	// STUN lists STUN servers as HOST:PORT (an IPv4 address or a name
	// resolved to one). From Listen on, each is sent Binding requests from
	// the port's UDP socket, every STUNTiming.Refresh; PublicAddress
	// reports the answers. Empty (the default: there is no public
	// default) turns STUN off.
	STUN []string
	// STUNTiming times the STUN requests.
	STUNTiming STUNTiming
	// Logger receives debug lines on connections and warnings on Accept
	// errors; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	o.MaxPeers = positiveOr(o.MaxPeers, DefaultMaxPeers)
	o.HandshakeTimeout = positiveOr(o.HandshakeTimeout, DefaultHandshakeTimeout)
	o.DialTimeout = positiveOr(o.DialTimeout, DefaultDialTimeout)
	o.ConnectTimeout = positiveOr(o.ConnectTimeout, DefaultConnectTimeout)
	o.AcceptBackoffMin = positiveOr(o.AcceptBackoffMin, DefaultAcceptBackoffMin)
	o.AcceptBackoffMax = max(positiveOr(o.AcceptBackoffMax, DefaultAcceptBackoffMax), o.AcceptBackoffMin)
	o.RedialMin = positiveOr(o.RedialMin, DefaultRedialMin)
	o.RedialMax = max(positiveOr(o.RedialMax, DefaultRedialMax), o.RedialMin)
	o.RedialReset = positiveOr(o.RedialReset, DefaultRedialReset)
	o.Topics = o.Topics.withDefaults()
	o.STUNTiming = o.STUNTiming.withDefaults()
	if o.Handler == nil {
		o.Handler = rejectAll
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// positiveOr is v, or def when v is not positive (an option left zero).
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// rejectAll is the Handler of a swarm given none: it rejects every core
// the remote opens until the stream ends.
func rejectAll(ctx context.Context, s *wire.Stream, _ Conn) error {
	for {
		ev, err := s.Recv(ctx)
		if err != nil {
			return err
		}
		if ev.Kind == wire.EventRemoteOpen {
			s.Reject(ev.DiscoveryKey)
		}
	}
}

// Transports a Conn may name.
const (
	TransportTCP = "tcp"
	TransportUTP = "utp" // on the port's UDP socket, in cgo builds
)

// Conn describes one connection whose handshake is done.
type Conn struct {
	// ID is unique per connection within a swarm, from 1.
	ID uint64
	// RemoteAddr is the peer's "host:port".
	RemoteAddr string
	// RemotePublicKey is the peer's Noise static public key.
	RemotePublicKey [32]byte
	// Transport is how the connection runs: "tcp" or "utp".
	Transport string
	// Initiator is true when we dialled.
	Initiator bool
	// Since is when the handshake finished.
	Since time.Time
}

// Stats counts what a swarm did since New.
type Stats struct {
	// Accepted and Dialled count the handshakes completed in each
	// direction.
	Accepted, Dialled uint64
	// RejectedFull counts accepted sockets closed at once because the
	// swarm had MaxPeers connections.
	RejectedFull uint64
	// HandshakeFailed counts handshakes, either direction, that failed or
	// timed out (a dial's counts in DialFailed too).
	HandshakeFailed uint64
	// DialFailed counts the dials that gave no connection, for any reason.
	DialFailed uint64
	// AcceptErrors counts Accept failures.
	AcceptErrors uint64
	// TCP and UTP count the handshakes completed, both directions, by
	// transport.
	TCP, UTP uint64
	// DHTDropped counts the datagrams for the DHT node (those not uTP)
	// dropped because its queue was full.
	DHTDropped uint64
	// DuplicatesClosed counts the connections the duplicate rule closed
	// here (§5.4, dedup.go): duplicates we dialled, closed at once;
	// duplicates we accepted whose client had not closed them within
	// HandshakeTimeout; and both ends of a connection to ourselves.
	DuplicatesClosed uint64
	// STUNDropped counts the STUN datagrams dropped on the UDP socket:
	// those that answer no request of ours outstanding (wrong transaction
	// ID, wrong sender, late, or not an answer). None reaches the DHT.
	STUNDropped uint64
}

var (
	// ErrTooManyPeers: a Dial while the swarm has MaxPeers connections.
	ErrTooManyPeers = errors.New("too many peers")
	// ErrClosed: the swarm was closed (by Close, or Run's return).
	ErrClosed = errors.New("swarm closed")
	// errStopped ends a kept connection's context on Kept.Stop.
	errStopped = errors.New("keep stopped")
)
