package swarm

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// TestDialRefused: a port nobody listens on fails quickly, the error
// naming the address and the refusal.
func TestDialRefused(t *testing.T) {
	s := newSwarm(t, Options{})
	to := freeAddr(t)
	begin := time.Now()
	_, err := s.Dial(context.Background(), to)
	if err == nil || !strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "refused") ||
		!errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to a closed port: %v", err)
	}
	t.Log(err)
	if took := time.Since(begin); took > time.Second {
		t.Errorf("the refusal took %v", took)
	}
	if st := s.Stats(); st.DialFailed != 1 || s.admitted() != 0 {
		t.Errorf("stats %+v, %d admitted", st, s.admitted())
	}
}

// TestDialSilentPeer: a peer that accepts but never handshakes fails the
// Dial within HandshakeTimeout, with an error saying so.
func TestDialSilentPeer(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := newSwarm(t, Options{HandshakeTimeout: timeout})
	to := silentListener(t).Addr().String()
	begin := time.Now()
	_, err := s.Dial(context.Background(), to)
	took := time.Since(begin)
	if err == nil || !strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "handshake timed out") ||
		!errors.Is(err, wire.ErrHandshake) {
		t.Fatalf("Dial to a silent peer: %v", err)
	}
	t.Log(err)
	if took < timeout-10*time.Millisecond || took > 20*timeout {
		t.Errorf("the Dial failed after %v, want about %v", took, timeout)
	}
	if st := s.Stats(); st.DialFailed != 1 || st.HandshakeFailed != 1 || s.admitted() != 0 {
		t.Errorf("stats %+v, %d admitted", st, s.admitted())
	}
}

// TestDialCanceled: the Dial's ctx ending during the handshake fails it
// with ctx's error and frees the place.
func TestDialCanceled(t *testing.T) {
	s := newSwarm(t, Options{HandshakeTimeout: waitLong})
	to := silentListener(t).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Dial(ctx, to)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), to) {
		t.Fatalf("Dial with a short ctx: %v", err)
	}
	if s.admitted() != 0 {
		t.Error("the canceled dial kept its place")
	}
}

// TestDialOnly: a swarm that never runs dials; its connection outlives the
// Dial's ctx and ends, handler returned, with Close.
func TestDialOnly(t *testing.T) {
	ra, rb := newRecorder(true), newRecorder(true)
	a := newSwarm(t, Options{Handler: ra.handle})
	b := newSwarm(t, Options{Handler: rb.handle})
	start(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := b.Dial(ctx, addr(a))
	must(t, err)
	cancel()
	ra.next(t)
	sb := rb.next(t)
	time.Sleep(20 * time.Millisecond)
	if sb.ctx.Err() != nil || len(b.Conns()) != 1 {
		t.Fatal("the connection ended with the Dial's ctx")
	}
	must(t, b.Close())
	rb.waitEnded(t, c.ID) // Close waited for it, so it is in the channel
	if !errors.Is(context.Cause(sb.ctx), ErrClosed) {
		t.Errorf("handler's ctx cause %v, want ErrClosed", context.Cause(sb.ctx))
	}
	eventually(t, "a's side to end", func() bool { return len(a.Conns()) == 0 })
	must(t, b.Close()) // idempotent
}

// wrappedConn marks a connection WrapConn wrapped; it hides the address.
type wrappedConn struct{ net.Conn }

func (wrappedConn) RemoteAddr() net.Addr { return nil }

// TestWrapConn: both sides' streams run over the wrapped connection, and
// the Conn still names the remote address.
func TestWrapConn(t *testing.T) {
	var wraps atomic.Int32
	wrap := func(c net.Conn) net.Conn { wraps.Add(1); return wrappedConn{c} }
	ra := newRecorder(true)
	a := newSwarm(t, Options{WrapConn: wrap, Handler: ra.handle})
	b := newSwarm(t, Options{WrapConn: wrap})
	start(t, a)
	c, err := b.Dial(context.Background(), addr(a))
	must(t, err)
	if got := ra.next(t).c; got.RemoteAddr == "" || c.RemoteAddr != addr(a) {
		t.Errorf("remote addresses %q (accepted) %q (dialled)", got.RemoteAddr, c.RemoteAddr)
	}
	if n := wraps.Load(); n != 2 {
		t.Errorf("WrapConn called %d times, want 2", n)
	}
}
