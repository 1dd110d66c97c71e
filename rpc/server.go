package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	capnp "capnproto.org/go/capnp/v3"
	crpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

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
}

// Server serves a Backend to clients, one session per connection.
type Server struct {
	backend Backend
	opts    ServerOptions
	nextID  atomic.Uint64
	clients atomic.Int32
	wg      sync.WaitGroup
}

// NewServer returns a server for b.
func NewServer(b Backend, opts ServerOptions) *Server {
	return &Server{backend: b, opts: opts}
}

// Clients returns the number of connected clients.
func (s *Server) Clients() int { return int(s.clients.Load()) }

// Serve accepts connections on l until ctx ends or l fails, then closes l
// and waits for every session to end. The sessions end when ctx does.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, l, nil)
}

// serve accepts on l; admit, if set, vets each connection first.
func (s *Server) serve(ctx context.Context, l net.Listener, admit func(net.Conn) bool) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept rpc connection: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if admit == nil || admit(conn) {
				s.ServeConn(ctx, conn)
			}
		}()
	}
}

// ServeConn serves one client on conn until it disconnects or ctx ends,
// then releases everything the client opened.
func (s *Server) ServeConn(ctx context.Context, conn io.ReadWriteCloser) {
	id := s.nextID.Add(1)
	s.clients.Add(1)
	if s.opts.OnClientOpen != nil {
		s.opts.OnClientOpen(id)
	}
	sess := newSession(ctx, s, id)
	boot := schema.Daemon_ServerToClient(&daemonServer{sess: sess})
	rc := crpc.NewConn(transport.New(newCodec(conn)), &crpc.Options{
		BootstrapClient: capnp.Client(boot),
		Logger:          s.opts.Logger,
		BaseContext:     func() context.Context { return sess.ctx },
	})
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

// codec frames Cap'n Proto messages on a stream with a size limit, so a
// client cannot make the daemon allocate without bound.
type codec struct {
	*capnp.Decoder
	*capnp.Encoder
	io.Closer
}

func newCodec(rwc io.ReadWriteCloser) *codec {
	d := capnp.NewDecoder(rwc)
	d.MaxMessageSize = MaxMessageSize
	return &codec{Decoder: d, Encoder: capnp.NewEncoder(rwc), Closer: rwc}
}

// session is what one client connection holds. Closing it releases every
// core the client opened and stops every stream it started.
type session struct {
	srv    *Server
	id     uint64
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	hello   bool
	handles map[*coreServer]struct{}
	closed  bool
}

func newSession(ctx context.Context, srv *Server, id uint64) *session {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &session{srv: srv, id: id, ctx: sctx, cancel: cancel, handles: map[*coreServer]struct{}{}}
}

// track registers an open core; it fails once the session is closed.
func (s *session) track(c *coreServer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handles[c] = struct{}{}
	return true
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
	s.mu.Unlock()
	for _, c := range handles {
		c.release()
	}
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
