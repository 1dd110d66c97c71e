package rpc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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

// readSlot makes a get's BeforeRead hook, which takes one of the
// session's read slots before the block is read, and release, which gives
// it back if it was taken; call release once the block's bytes are
// reserved under the bound on unread answers, or the get is over.
func (s *session) readSlot() (before func(context.Context) error, release func()) {
	var held atomic.Bool
	before = func(ctx context.Context) error {
		if held.Load() {
			return nil
		}
		select {
		case s.reads <- struct{}{}:
			held.Store(true)
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wait to read the block: %w", ctx.Err())
		}
	}
	release = func() {
		if held.CompareAndSwap(true, false) {
			<-s.reads
		}
	}
	return before, release
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
