package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/hspd/hsp/swarm/wire"
)

// Dial connects to addr ("host:port") over TCP within DialTimeout,
// handshakes as initiator within HandshakeTimeout, starts the handler in
// the background and returns the Conn once the handshake is done. Errors
// name the address and what failed: the connect (refused, timed out), the
// handshake, the peer cap (ErrTooManyPeers) or ctx. Dial works whether or
// not Run is running; its connection lives until the remote ends it, the
// handler returns, or the swarm closes. ctx bounds only the dial; the
// handler's ctx keeps its values.
func (s *Swarm) Dial(ctx context.Context, addr string) (Conn, error) {
	p, err := s.dial(ctx, addr)
	if err != nil {
		return Conn{}, err
	}
	return p.conn, nil
}

// dial is Dial, returning the peer, with the errors counted and wrapped.
func (s *Swarm) dial(ctx context.Context, addr string) (*peer, error) {
	p, err := s.dialPeer(ctx, addr)
	if err != nil {
		s.stats.dialFailed.Add(1)
		s.log.Debug("dial failed", "addr", addr, "err", err)
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	s.stats.dialled.Add(1)
	return p, nil
}

func (s *Swarm) dialPeer(ctx context.Context, addr string) (*peer, error) {
	p, pctx, err := s.admit(context.WithoutCancel(ctx), TransportTCP, true)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { p.cancel(context.Cause(ctx)) })
	st, c, err := s.connectAndHandshake(pctx, p, addr)
	if !stop() && err == nil {
		err = context.Cause(ctx) // ctx ended just as the handshake did
	}
	if err != nil {
		s.release(p)
		return nil, err
	}
	go s.serve(pctx, p, st, c)
	return p, nil
}

func (s *Swarm) connectAndHandshake(ctx context.Context, p *peer, addr string) (*wire.Stream, Conn, error) {
	conn, err := s.connect(ctx, addr)
	if err != nil {
		return nil, Conn{}, err
	}
	return s.handshake(ctx, p, conn)
}

// connect opens the TCP connection (Go's defaults: no Nagle, keep-alives
// on) within DialTimeout.
func (s *Swarm) connect(ctx context.Context, addr string) (net.Conn, error) {
	if s.opts.NoTCP {
		return nil, errors.New("tcp disabled by Options.NoTCP")
	}
	d := net.Dialer{Timeout: s.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		return conn, nil
	}
	var nerr net.Error
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, &netError{msg: "connection refused", err: err}
	case errors.As(err, &nerr) && nerr.Timeout():
		return nil, &netError{msg: fmt.Sprintf("connect timed out after %v", s.opts.DialTimeout), err: err}
	}
	return nil, fmt.Errorf("connect: %w", bareNetError(err))
}
