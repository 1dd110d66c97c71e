package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// peer is one connection from its admission (accept, or the start of a
// dial) to its end; it holds a place against MaxPeers all that time.
type peer struct {
	// cancel ends the peer's context, and with it the connect, the
	// handshake, the stream and the handler's ctx.
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once the peer has let go of its place
	conn   Conn          // under Swarm.mu until up; fixed after
	up     bool          // the handshake is done; under Swarm.mu
	st     *wire.Stream  // set with up
	// dup is the connection p is a duplicate of and self says that p
	// reached ourselves (dedup.go); both under Swarm.mu.
	dup  *peer
	self bool
}

// admit reserves a place for a new connection. The peer's context derives
// from parent and ends when the peer is closed or released.
func (s *Swarm) admit(parent context.Context, transport string, initiator bool) (*peer, context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, nil, ErrClosed
	case len(s.peers) >= s.opts.MaxPeers:
		return nil, nil, fmt.Errorf("%w (%d)", ErrTooManyPeers, s.opts.MaxPeers)
	}
	ctx, cancel := context.WithCancelCause(parent)
	s.nextID++
	p := &peer{
		cancel: cancel,
		done:   make(chan struct{}),
		conn:   Conn{ID: s.nextID, Transport: transport, Initiator: initiator},
	}
	s.peers[p.conn.ID] = p
	s.wg.Add(1)
	return p, ctx, nil
}

// release gives p's place back; its context ends, closing its stream.
func (s *Swarm) release(p *peer) {
	p.cancel(nil)
	s.mu.Lock()
	delete(s.peers, p.conn.ID)
	s.mu.Unlock()
	close(p.done)
	s.placeFreed()
	s.wg.Done()
}

// admitAccepted handshakes and serves an accepted socket in the
// background, or closes it at once when the swarm is full.
func (s *Swarm) admitAccepted(ctx context.Context, conn net.Conn, transport string) {
	p, pctx, err := s.admit(ctx, transport, false)
	if err != nil {
		if errors.Is(err, ErrTooManyPeers) {
			s.stats.rejectedFull.Add(1) // counted before the peer sees it
			s.log.Debug("connection closed at the peer cap", "remote", conn.RemoteAddr().String(), "err", err)
		}
		conn.Close()
		return
	}
	go func() {
		st, c, err := s.handshake(pctx, p, conn)
		if err != nil {
			s.log.Debug("incoming handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
			s.release(p)
			return
		}
		s.stats.accepted.Add(1)
		s.serve(pctx, p, st, c)
	}()
}

// handshake runs handshakeStream for p and records that it is up.
func (s *Swarm) handshake(ctx context.Context, p *peer, conn net.Conn) (*wire.Stream, Conn, error) {
	st, err := s.handshakeStream(ctx, p.conn.Initiator, conn)
	if err != nil {
		return nil, Conn{}, err
	}
	c := s.markUp(p, st, conn)
	if err := s.closedByDedup(p); err != nil {
		return nil, Conn{}, err
	}
	return st, c, nil
}

// handshakeStream wraps conn in a stream, which closes when ctx ends, and
// runs the Noise handshake within HandshakeTimeout.
func (s *Swarm) handshakeStream(ctx context.Context, initiator bool, conn net.Conn) (*wire.Stream, error) {
	cfg := s.opts.Wire
	cfg.Initiator, cfg.KeyPair = initiator, s.opts.KeyPair
	wrapped := conn
	if s.opts.WrapConn != nil {
		wrapped = s.opts.WrapConn(conn)
	}
	st := wire.NewStream(wrapped, cfg)
	context.AfterFunc(ctx, func() { st.Close() })
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	defer cancel()
	if err := st.Handshake(hctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("handshake: %w", context.Cause(ctx))
		}
		s.stats.handshakeFailed.Add(1)
		if errors.Is(err, context.DeadlineExceeded) {
			msg := fmt.Sprintf("handshake timed out after %v", s.opts.HandshakeTimeout)
			return nil, &netError{msg: msg, err: err}
		}
		return nil, err
	}
	return st, nil
}

// markUp records that p's handshake is done.
func (s *Swarm) markUp(p *peer, st *wire.Stream, conn net.Conn) Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.conn.RemoteAddr = conn.RemoteAddr().String()
	p.conn.RemotePublicKey = st.RemotePublicKey()
	p.conn.Since = time.Now()
	p.up, p.st = true, st
	s.dedupLocked(p)
	s.stats.connected(p.conn.Transport)
	return p.conn
}

// serve runs the handler on a handshaken stream, then closes the
// connection and releases its place.
func (s *Swarm) serve(ctx context.Context, p *peer, st *wire.Stream, c Conn) {
	defer s.release(p)
	if s.holdDuplicate(ctx, p, st) {
		return
	}
	s.log.Debug("connected", "id", c.ID, "remote", c.RemoteAddr, "transport", c.Transport, "initiator", c.Initiator)
	err := s.opts.Handler(ctx, st, c)
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	s.log.Debug("connection ended", "id", c.ID, "remote", c.RemoteAddr, "err", err,
		"lasted", time.Since(c.Since).Round(time.Millisecond))
}
