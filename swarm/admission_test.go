package swarm

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestHandshakeTimeout: a socket that sends nothing is closed after
// HandshakeTimeout and counted; Run goes on accepting.
func TestHandshakeTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	a := newSwarm(t, Options{HandshakeTimeout: timeout})
	r := start(t, a)
	took := waitClosed(t, rawDial(t, a))
	if took < timeout-10*time.Millisecond || took > 20*timeout {
		t.Errorf("a silent socket was closed after %v, want about %v", took, timeout)
	}
	eventually(t, "HandshakeFailed 1", func() bool { return a.Stats().HandshakeFailed == 1 })
	r.alive()
	dialWorks(t, a)
}

// TestGarbageHandshake: a socket that sends garbage is closed at once,
// long before the handshake timeout, and counted; Run goes on accepting.
func TestGarbageHandshake(t *testing.T) {
	a := newSwarm(t, Options{HandshakeTimeout: waitLong})
	r := start(t, a)
	c := rawDial(t, a)
	_, err := c.Write(bytes.Repeat([]byte{0xff}, 64))
	must(t, err)
	if took := waitClosed(t, c); took > time.Second {
		t.Errorf("a garbage socket was closed after %v", took)
	}
	eventually(t, "HandshakeFailed 1", func() bool { return a.Stats().HandshakeFailed == 1 })
	r.alive()
	dialWorks(t, a)
}

// dialWorks checks that a fresh swarm can connect to s.
func dialWorks(t *testing.T, s *Swarm) {
	t.Helper()
	b := newSwarm(t, Options{})
	if _, err := b.Dial(context.Background(), addr(s)); err != nil {
		t.Fatalf("a good dial after the bad sockets: %v", err)
	}
	b.Close()
}

// TestPeerCap: silent sockets count against MaxPeers from accept; the one
// past the cap is closed at once and counted, and a Dial past it fails with
// ErrTooManyPeers. A place freed is usable again.
func TestPeerCap(t *testing.T) {
	a := newSwarm(t, Options{MaxPeers: 2, HandshakeTimeout: waitLong})
	start(t, a)
	first := rawDial(t, a)
	rawDial(t, a)
	eventually(t, "two sockets admitted", func() bool { return a.admitted() == 2 })
	if took := waitClosed(t, rawDial(t, a)); took > time.Second {
		t.Errorf("the socket past the cap was closed after %v", took)
	}
	if st := a.Stats(); st.RejectedFull != 1 || st.HandshakeFailed != 0 {
		t.Errorf("stats %+v, want RejectedFull 1", st)
	}

	other := newSwarm(t, Options{})
	start(t, other)
	_, err := a.Dial(context.Background(), addr(other))
	if !errors.Is(err, ErrTooManyPeers) {
		t.Fatalf("Dial past the cap: %v, want ErrTooManyPeers", err)
	}
	t.Log(err)

	first.Close()
	eventually(t, "the closed socket's place back", func() bool { return a.admitted() == 1 })
	if _, err := a.Dial(context.Background(), addr(other)); err != nil {
		t.Fatalf("Dial below the cap: %v", err)
	}
}

// flakyListener fails its first fails Accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsBackOff: Accept errors are counted and backed off from,
// Run goes on and then accepts.
func TestAcceptErrorsBackOff(t *testing.T) {
	const fails = 6
	a := newSwarm(t, Options{AcceptBackoffMin: time.Millisecond, AcceptBackoffMax: 8 * time.Millisecond})
	fl := &flakyListener{}
	fl.fails.Store(fails)
	a.listenHook = func(ln net.Listener) net.Listener { fl.Listener = ln; return fl }
	begin := time.Now()
	r := start(t, a)
	eventually(t, "the failing Accepts", func() bool { return a.Stats().AcceptErrors == fails })
	// 1+2+4+8+8 ms of backoff at least before the sixth failure's pause.
	if took := time.Since(begin); took < 23*time.Millisecond {
		t.Errorf("%d Accept errors took only %v: no backoff", fails, took)
	}
	r.alive()
	dialWorks(t, a)
}
