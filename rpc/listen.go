package rpc

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// Accept backs off after a failure as net/http does: 5 ms, doubling up to
// a second, so running out of file descriptors slows serving down instead
// of stopping it.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
	// busyResponders bounds the connections being told "busy" at once;
	// past it an over-the-cap connection is closed at once.
	busyResponders = 32
	// busyTimeout bounds how long a busy answer may take.
	busyTimeout = 2 * time.Second
)

// Serve accepts connections on l until ctx ends, then closes l and waits
// for every session to end. The sessions end when ctx does.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, l, false, "")
}

// listener is one listener's admission state.
type listener struct {
	srv   *Server
	tcp   bool
	token string
	open  atomic.Int32 // connections being served
	busy  busyGate     // connections being told "busy"
	frame []byte       // the busy abort, encoded once
}

// serve accepts on l until ctx ends; a TCP connection must present token
// before anything else. Accept errors back off; they never end serving.
func (s *Server) serve(ctx context.Context, l net.Listener, tcp bool, token string) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer s.wg.Wait()
	ln := &listener{srv: s, tcp: tcp, token: token, frame: abortFrame(busyError(s.opts.MaxClients))}
	backoff := time.Duration(0)
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			if s.opts.OnAcceptError != nil {
				s.opts.OnAcceptError(err, backoff)
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		ln.admit(ctx, conn)
	}
}

// admit serves conn, or tells it the daemon is busy when the listener
// serves MaxClients connections already.
func (ln *listener) admit(ctx context.Context, conn net.Conn) {
	s := ln.srv
	if int(ln.open.Add(1)) > s.opts.MaxClients {
		ln.open.Add(-1)
		ln.refuseBusy(conn)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer ln.open.Add(-1)
		if ln.tcp && !s.checkTCP(conn, ln.token) {
			return
		}
		s.serveConn(ctx, conn, ln.tcp)
	}()
}

// refuseBusy tells an over-the-cap client that the daemon is busy, then
// hangs up: over TCP in the token reply, over the socket in an Abort
// message written at once. Only busyResponders linger at once; past that a
// unix client still gets the Abort, a TCP one just the hang-up.
func (ln *listener) refuseBusy(conn net.Conn) {
	if s := ln.srv; s.opts.OnBusy != nil {
		s.opts.OnBusy(conn.RemoteAddr())
	}
	if !ln.busy.enter() {
		if !ln.tcp {
			conn.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
			conn.Write(ln.frame)
		}
		conn.Close()
		return
	}
	go func() {
		defer ln.busy.leave()
		defer conn.Close()
		if ln.tcp {
			conn.SetDeadline(time.Now().Add(busyTimeout))
			answerPreamble(conn, "busy")
			return
		}
		answerBusy(conn, ln.frame)
	}()
}
