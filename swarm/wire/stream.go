package wire

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultKeepAlive   = 10 * time.Second
	DefaultTimeout     = 20 * time.Second
	DefaultMaxChannels = 4096
)

const (
	// maxQueued bounds the bytes of received frames waiting for Recv; the
	// reader stops reading the connection past it.
	maxQueued = 1 << 20
	// maxKeptBuf is the largest send buffer kept for reuse.
	maxKeptBuf = 256 << 10
)

// Config configures a Stream.
type Config struct {
	// Initiator is true on the side that dialed. Exactly one side of a
	// connection must be the initiator.
	Initiator bool
	// KeyPair is the Noise static key pair (see ReplicationKeyPair).
	KeyPair KeyPair
	// KeepAlive: a keep-alive is sent after this long without sending.
	// Zero means DefaultKeepAlive; negative disables keep-alives.
	KeepAlive time.Duration
	// Timeout: the stream ends with ErrTimeout after this long without
	// receiving anything, during the handshake too (where it also bounds
	// each write). Zero means DefaultTimeout; negative disables it.
	Timeout time.Duration
	// MaxChannels bounds the cores (opened by either side) that a stream
	// tracks; remote Opens past it are rejected. Zero means
	// DefaultMaxChannels.
	MaxChannels int
	// Rand supplies the handshake nonce (24 bytes) and then the Noise
	// ephemeral secret (32 bytes). Nil means crypto/rand; tests set it to
	// replay a recorded handshake.
	Rand io.Reader
}

func (c Config) withDefaults() Config {
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = DefaultMaxChannels
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// Stream is one hypercore-protocol 8 connection: a Noise handshake, then
// XSalsa20-encrypted frames carrying the messages of any number of
// channels. Call Handshake once, then Recv in one goroutine; the other
// methods may be called from any goroutine.
type Stream struct {
	conn    net.Conn
	cfg     Config
	tc      *timedConn
	rd      *frameReader
	ses     session
	started atomic.Bool
	up      atomic.Bool // the handshake succeeded

	mu      sync.Mutex // guards chans and pending; taken before wmu
	chans   channelTable
	pending []Event

	wmu      sync.Mutex // guards the sending side
	tx       *xsalsa20
	wbuf     []byte
	lastSend time.Time

	frames    chan inbound
	queued    atomic.Int64
	drained   chan struct{}
	wake      chan struct{}
	done      chan struct{}
	once      sync.Once
	err       error // set once, before done is closed
	keepAlive atomic.Pointer[time.Timer]
}

// inbound is a received frame, or the error that ended reading.
type inbound struct {
	frame
	err error
}

// NewStream wraps conn. Nothing is sent until Handshake.
func NewStream(conn net.Conn, cfg Config) *Stream {
	cfg = cfg.withDefaults()
	tc := &timedConn{Conn: conn, timeout: cfg.Timeout}
	return &Stream{
		conn:    conn,
		cfg:     cfg,
		tc:      tc,
		rd:      newFrameReader(tc),
		chans:   newChannelTable(),
		frames:  make(chan inbound, 256),
		drained: make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Handshake runs the Noise handshake in the role Config.Initiator says.
// On failure, or when ctx ends first, the stream is closed and the error
// wraps ErrHandshake (and ErrTimeout or the ctx's error where they apply).
func (s *Stream) Handshake(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: handshake called twice", ErrHandshake)
	}
	stop := context.AfterFunc(ctx, s.tc.expire)
	ses, err := handshake(s.tc, s.rd, s.cfg.Initiator, s.cfg.KeyPair, s.cfg.Rand)
	if !stop() && err == nil {
		err = ctx.Err() // the connection's deadlines are spent
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrHandshake, s.cause(ctx, err))
		s.destroy(err)
		return err
	}
	s.tc.endHandshake()
	s.start(ses)
	return nil
}

// cause names why a handshake failed: ctx, the timeout, a local Close, or
// the error itself.
func (s *Stream) cause(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case s.Err() != nil:
		return s.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w after %v", ErrTimeout, s.cfg.Timeout)
	}
	return err
}

func (s *Stream) start(ses session) {
	s.ses = ses
	s.rd.setCipher(newXSalsa20(&ses.rx, &ses.remoteNonce))
	s.tx = newXSalsa20(&ses.tx, &ses.localNonce)
	s.lastSend = time.Now()
	s.up.Store(true)
	go s.readLoop()
	if s.cfg.KeepAlive > 0 {
		s.keepAlive.Store(time.AfterFunc(s.cfg.KeepAlive, s.keepAliveTick))
		if s.Err() != nil {
			s.keepAlive.Load().Stop()
		}
	}
}

// PublicKey is the local Noise static public key.
func (s *Stream) PublicKey() [32]byte { return s.cfg.KeyPair.Public }

// RemotePublicKey is the remote's Noise static public key, known once the
// handshake is done.
func (s *Stream) RemotePublicKey() [32]byte { return s.ses.remoteStatic }

// HandshakeHash is the Noise handshake hash (64 bytes), known once the
// handshake is done.
func (s *Stream) HandshakeHash() []byte { return s.ses.hash }

// Done is closed when the stream has ended; Err then tells why.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err returns the error that ended the stream (ErrClosed after Close), or
// nil while it is up.
func (s *Stream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the stream and closes the connection. It does not send Close
// messages; close channels first for a graceful end.
func (s *Stream) Close() error {
	s.destroy(ErrClosed)
	return nil
}

func (s *Stream) destroy(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		s.conn.Close()
		if t := s.keepAlive.Load(); t != nil {
			t.Stop()
		}
	})
}

// ready fails unless the handshake is done and the stream is up.
func (s *Stream) ready() error {
	if err := s.Err(); err != nil {
		return err
	}
	if !s.up.Load() {
		return fmt.Errorf("%w: not done yet", ErrHandshake)
	}
	return nil
}

// timedConn puts deadlines on a connection: before every Read the read
// deadline moves to Timeout from now, so that a Read fails once the peer
// has been silent that long; handshake writes get the same bound. expire
// ends both for good (ctx cancellation during the handshake).
type timedConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	expired bool
}

func (t *timedConn) Read(p []byte) (int, error) {
	if err := t.refresh(t.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

// Write is for handshake messages only; frames go to the connection itself.
func (t *timedConn) Write(p []byte) (int, error) {
	if err := t.refresh(t.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

func (t *timedConn) refresh(set func(time.Time) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.expired {
		return os.ErrDeadlineExceeded
	}
	if t.timeout > 0 {
		set(time.Now().Add(t.timeout))
	}
	return nil
}

// endHandshake lifts the write deadline of the last handshake message.
func (t *timedConn) endHandshake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.expired {
		t.Conn.SetWriteDeadline(time.Time{})
	}
}

func (t *timedConn) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expired = true
	t.Conn.SetDeadline(time.Unix(1, 0))
}
