package rpc

import (
	"context"
	"sync"
	"time"

	crpc "capnproto.org/go/capnp/v3/rpc"
)

// closeWhenIdle closes rc once the client has sent nothing for the
// server's TCPIdleTimeout while no call of its is in flight and it holds
// no subscription, cursor, download or extension: a `cat --live` over TCP
// is never cut, a forgotten connection is.
func (s *session) closeWhenIdle(rc *crpc.Conn, frames *frameReader) {
	idle := s.srv.opts.TCPIdleTimeout
	tick := time.NewTicker(max(idle/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if s.calls.Load() == 0 && s.streams.Load() == 0 && frames.quietFor() >= idle {
				rc.Close()
				return
			}
		case <-rc.Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// openStream counts a subscription, cursor, download or extension the
// session holds; the returned func, called once, counts it gone.
func (s *session) openStream() func() {
	s.streams.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.streams.Add(-1) }) }
}

// reserveSend reserves n bytes of what the connection may hold for its
// client, for an answer about to be built; see sendLimit.reserve. Without
// a bound (sessions of tests) it reserves nothing.
func (s *session) reserveSend(ctx context.Context, n int) (*sendReservation, error) {
	if s.sends == nil {
		return nil, nil
	}
	return s.sends.reserve(ctx, int64(n))
}
