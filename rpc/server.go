package rpc

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	crpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// ServerOptions tunes a Server.
type ServerOptions struct {
	// Logger receives the Cap'n Proto layer's own errors (a *slog.Logger
	// will do); nil drops them.
	Logger crpc.Logger
	// OnClientOpen and OnClientClose, when set, observe each client
	// connection by a number unique within the server.
	OnClientOpen, OnClientClose func(id uint64)
	// OnRefused, when set, observes a TCP connection refused for its token.
	OnRefused func(addr net.Addr, err error)
	// OnBusy, when set, observes a connection refused because the
	// listener serves MaxClients already.
	OnBusy func(addr net.Addr)
	// OnDrop, when set, observes a client dropped for what it did (left
	// too much unread, broke the protocol), with the reason.
	OnDrop func(id uint64, reason string)
	// OnAcceptError, when set, observes an Accept failure (such as running
	// out of file descriptors); serving goes on after a backoff.
	OnAcceptError func(err error, backoff time.Duration)
	// Limits guard the daemon against one client; zero fields take the
	// defaults of DefaultLimits.
	Limits Limits
	// MaxClients caps the connections served at once on one listener;
	// past it a client is told the daemon is busy. 0 means
	// DefaultMaxClients.
	MaxClients int
	// HelloTimeout is how long a connection may take to say hello; 0
	// means DefaultHelloTimeout.
	HelloTimeout time.Duration
	// TCPIdleTimeout closes a TCP connection with no call in flight and no
	// open subscription, cursor, download or extension for that long; 0
	// means DefaultTCPIdleTimeout.
	TCPIdleTimeout time.Duration
}

// positiveOr is v, or def when v is not positive (an option left zero).
func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Defaults of ServerOptions.
const (
	DefaultMaxClients     = 512
	DefaultHelloTimeout   = 10 * time.Second
	DefaultTCPIdleTimeout = 5 * time.Minute
)

func (o ServerOptions) withDefaults() ServerOptions {
	o.Limits = o.Limits.withDefaults()
	o.MaxClients = positiveOr(o.MaxClients, DefaultMaxClients)
	o.HelloTimeout = positiveOr(o.HelloTimeout, DefaultHelloTimeout)
	o.TCPIdleTimeout = positiveOr(o.TCPIdleTimeout, DefaultTCPIdleTimeout)
	return o
}

// Limits bound what one client session can make the daemon hold.
type Limits struct {
	// Cores caps the cores a session has open at once.
	Cores int
	// Calls caps a session's calls in progress (gets waiting for blocks,
	// updates, appends, reads).
	Calls int
	// EventBytes caps the bytes of events sent to one subscriber and not
	// yet acknowledged (at least 16 KiB).
	EventBytes int64
	// SlowConsumer is how long a subscriber may leave a batch of events
	// unacknowledged before its subscription is dropped.
	SlowConsumer time.Duration
	// Parted caps the appends in parts (appendPart) a session has
	// gathering at once; each holds up to MaxAppendBytes until it commits.
	// A client past it sends its append in one call instead.
	Parted int
	// PartWait is how long an append in parts waits for its next part
	// before it fails and lets its parts go.
	PartWait time.Duration
	// CallBytes caps the bytes of a session's messages the daemon holds at
	// once (calls read and not yet done with): reading the next one waits
	// past it. The default, Parted+2 messages of the largest size, holds
	// every append in parts gathering and one more call.
	CallBytes int64
	// Reads caps the blocks a session's gets have read and not yet
	// reserved room for under the bound on unread answers: a get reads its
	// block only once it holds one of these, and gives it back once the
	// block's bytes are reserved. So 1,024 gets woken by one 8 MiB block
	// hold at most Reads × 8 MiB more than that bound.
	Reads int
}

// minEventWindow is the smallest event window: far above one batch.
const minEventWindow = 16 << 10

// DefaultLimits are the limits a Server applies unless told otherwise.
var DefaultLimits = Limits{Cores: 4096, Calls: 1024, EventBytes: 1 << 20, SlowConsumer: 30 * time.Second, Parted: 4, PartWait: 30 * time.Second, Reads: 8}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.Cores, l.Calls = positiveOr(l.Cores, d.Cores), positiveOr(l.Calls, d.Calls)
	// The flow limiter refuses (panics on) a single message larger than its
	// window, so the window always holds the largest event batch.
	l.EventBytes = max(positiveOr(l.EventBytes, d.EventBytes), minEventWindow)
	l.SlowConsumer = positiveOr(l.SlowConsumer, d.SlowConsumer)
	l.Parted, l.PartWait = positiveOr(l.Parted, d.Parted), positiveOr(l.PartWait, d.PartWait)
	l.CallBytes = positiveOr(l.CallBytes, int64(l.Parted+2)*MaxMessageSize)
	l.Reads = positiveOr(l.Reads, d.Reads)
	return l
}

// Server serves a Backend to clients, one session per connection.
type Server struct {
	backend Backend
	opts    ServerOptions
	nextID  atomic.Uint64
	clients atomic.Int32
	wg      sync.WaitGroup
	// subscriptions counts the event pushers running.
	subscriptions atomic.Int32
	// onRecvLimit, set by tests before serving, is told each session's
	// bound on the bytes of its calls.
	onRecvLimit func(*recvLimit)
}

// NewServer returns a server for b.
func NewServer(b Backend, opts ServerOptions) *Server {
	return &Server{backend: b, opts: opts.withDefaults()}
}

// Clients returns the number of connected clients.
func (s *Server) Clients() int { return int(s.clients.Load()) }

// ServeConn serves one client on conn until it disconnects or ctx ends,
// then releases everything the client opened.
func (s *Server) ServeConn(ctx context.Context, conn io.ReadWriteCloser) {
	s.serveConn(ctx, conn, false)
}

// serveConn serves one client. Every connection must say hello within
// HelloTimeout; a TCP one (idle set) is closed after TCPIdleTimeout
// without calls or streams.
func (s *Server) serveConn(ctx context.Context, conn io.ReadWriteCloser, idle bool) {
	id := s.nextID.Add(1)
	s.clients.Add(1)
	if s.opts.OnClientOpen != nil {
		s.opts.OnClientOpen(id)
	}
	sess := newSession(ctx, s, id)
	boot := schema.Daemon_ServerToClient(&daemonServer{sess: sess})
	cd := newCodec(conn)
	recvs := limitRecvs(transport.New(cd), s.opts.Limits.CallBytes, cd.lastSize)
	if s.onRecvLimit != nil {
		s.onRecvLimit(recvs)
	}
	sends := limitSends(recvs, maxQueuedBytes, maxQueuedMessages, s.opts.Limits.SlowConsumer, func(reason string) {
		if s.opts.OnDrop != nil {
			s.opts.OnDrop(id, reason)
		}
	})
	sess.sends = sends
	rc := crpc.NewConn(NewGuard(sends, s.guardOptions()), &crpc.Options{
		BootstrapClient: capnp.Client(boot),
		Logger:          s.opts.Logger,
		BaseContext:     func() context.Context { return sess.ctx },
	})
	hello := time.AfterFunc(s.opts.HelloTimeout, func() {
		if !sess.greeted() {
			rc.Close()
		}
	})
	defer hello.Stop()
	if idle {
		go sess.closeWhenIdle(rc, cd.frameReader)
	}
	select {
	case <-rc.Done():
	case <-ctx.Done():
		rc.Close()
	}
	sess.close()
	s.clients.Add(-1)
	if s.opts.OnClientClose != nil {
		s.opts.OnClientClose(id)
	}
}

// codec frames Cap'n Proto messages on a stream with a size limit, a
// buffer that grows only with what arrives and a deadline inside a frame,
// so a peer cannot make the daemon allocate or wait without bound.
type codec struct {
	*frameReader
	*capnp.Encoder
	io.Closer
}

func newCodec(rwc io.ReadWriteCloser) *codec {
	return &codec{frameReader: newFrameReader(rwc, MaxMessageSize), Encoder: capnp.NewEncoder(rwc), Closer: rwc}
}

// session is what one client connection holds. Closing it releases every
// core the client opened and stops every stream it started.
type session struct {
	srv    *Server
	id     uint64
	ctx    context.Context
	cancel context.CancelFunc

	sends   *sendLimit    // what the connection holds unread
	reads   chan struct{} // one per block read and not yet reserved (Limits.Reads)
	calls   atomic.Int32  // calls in progress
	parted  atomic.Int32  // appends in parts gathering
	streams atomic.Int32  // subscriptions, cursors, downloads and extensions open

	mu       sync.Mutex
	hello    bool
	netConf  bool // configured a discovery key: EndSession at close
	handles  map[*coreServer]struct{}
	reserved int // opens admitted and not yet tracked
	closed   bool
}

// begin counts a call in progress, refusing it past the session's limit.
func (s *session) begin() (done func(), err error) {
	if n := s.calls.Add(1); int(n) > s.srv.opts.Limits.Calls {
		s.calls.Add(-1)
		return nil, toWire(fmt.Errorf("more than %d calls in progress on this connection: %w", s.srv.opts.Limits.Calls, ErrLimit))
	}
	return func() { s.calls.Add(-1) }, nil
}

func newSession(ctx context.Context, srv *Server, id uint64) *session {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &session{srv: srv, id: id, ctx: sctx, cancel: cancel, handles: map[*coreServer]struct{}{},
		reads: make(chan struct{}, srv.opts.Limits.Reads)}
}

// reserve admits one more open core, before the backend is asked, so an
// open refused for the limit stores nothing. Each reserve is followed by
// one track or one unreserve.
func (s *session) reserve() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("session closed: %w", core.ErrClosed)
	}
	if n := len(s.handles) + s.reserved; n >= s.srv.opts.Limits.Cores {
		return fmt.Errorf("this connection has %d cores open already: %w", n, ErrLimit)
	}
	s.reserved++
	return nil
}

// unreserve gives back a place reserve admitted.
func (s *session) unreserve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
}

// track registers an open core in the place reserve admitted; it fails
// once the session is closed.
func (s *session) track(c *coreServer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
	if s.closed {
		return fmt.Errorf("session closed: %w", core.ErrClosed)
	}
	s.handles[c] = struct{}{}
	return nil
}

func (s *session) untrack(c *coreServer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.handles, c)
}

func (s *session) close() {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	handles := make([]*coreServer, 0, len(s.handles))
	for c := range s.handles {
		handles = append(handles, c)
	}
	netConf := s.netConf
	s.mu.Unlock()
	for _, c := range handles {
		c.release()
	}
	if netConf {
		s.srv.backend.Network().EndSession(context.Background(), SessionID(s.id))
	}
}

// configured records that the session configures a discovery key; false
// once the session is closed.
func (s *session) configured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.netConf = true
	return !s.closed
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *session) greeted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hello
}

func (s *session) greet() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hello = true
}
