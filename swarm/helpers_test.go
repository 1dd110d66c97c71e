package swarm

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

const waitLong = 5 * time.Second

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testKeyPair(t testing.TB) wire.KeyPair {
	kp, err := wire.GenerateKeyPair(nil)
	must(t, err)
	return kp
}

func testKey(i byte) core.Key {
	var k core.Key
	for j := range k {
		k[j] = i + byte(j)
	}
	return k
}

// newSwarm makes a swarm on 127.0.0.1 with a fresh key pair unless opts
// name them; it closes at the end of the test.
func newSwarm(t *testing.T, opts Options) *Swarm {
	t.Helper()
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.KeyPair == (wire.KeyPair{}) {
		opts.KeyPair = testKeyPair(t)
	}
	s := New(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

// running is a swarm's Run in the background.
type running struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
}

// start listens (unless done already) and runs s until stop or the end of
// the test.
func start(t *testing.T, s *Swarm) *running {
	t.Helper()
	if s.Addr() == nil {
		must(t, s.Listen())
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop() })
	eventually(t, "Run to start", s.isRunning)
	return r
}

// stop cancels Run and returns what it returned.
func (r *running) stop() error {
	r.t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for a later stop
		return err
	case <-time.After(waitLong):
		r.t.Fatal("Run did not return after its ctx ended")
		return nil
	}
}

// alive fails the test when Run has returned.
func (r *running) alive() {
	r.t.Helper()
	select {
	case err := <-r.done:
		r.t.Fatalf("Run returned %v", err)
	default:
	}
}

func addr(s *Swarm) string { return s.Addr().String() }

// session is one handler invocation.
type session struct {
	ctx context.Context
	st  *wire.Stream
	c   Conn
}

// recorder is a Handler that reports every stream it runs. A passive one
// leaves the stream to the test and waits for it or its ctx to end; an
// active one reads it, rejecting every core, until it ends.
type recorder struct {
	active bool
	got    chan session
	ended  chan Conn
}

func newRecorder(active bool) *recorder {
	return &recorder{active: active, got: make(chan session, 16), ended: make(chan Conn, 16)}
}

func (r *recorder) handle(ctx context.Context, st *wire.Stream, c Conn) error {
	defer func() { r.ended <- c }()
	r.got <- session{ctx, st, c}
	if r.active {
		return rejectAll(ctx, st, c)
	}
	select {
	case <-ctx.Done():
	case <-st.Done():
	}
	return errors.New("passive handler done")
}

// next waits for the next handler invocation.
func (r *recorder) next(t *testing.T) session {
	t.Helper()
	select {
	case s := <-r.got:
		return s
	case <-time.After(waitLong):
		t.Fatal("no handler invocation")
		return session{}
	}
}

// none fails if a handler starts within d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s := <-r.got:
		t.Fatalf("unexpected handler invocation for %+v", s.c)
	case <-time.After(d):
	}
}

// waitEnded waits for the handlers of the connections ids to return
// (others ending meanwhile are forgotten).
func (r *recorder) waitEnded(t *testing.T, ids ...uint64) {
	t.Helper()
	timeout := time.After(waitLong)
	for len(ids) > 0 {
		select {
		case c := <-r.ended:
			ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == c.ID })
		case <-timeout:
			t.Fatalf("handlers of connections %v did not return", ids)
		}
	}
}

// eventually polls cond until it holds, failing after waitLong.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitLong); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// rawDial opens a plain TCP connection to s, closed at the end of the
// test.
func rawDial(t *testing.T, s *Swarm) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr(s))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the remote closes it and returns how long that
// took; data from the remote fails the test.
func waitClosed(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	begin := time.Now()
	c.SetReadDeadline(begin.Add(waitLong))
	n, err := c.Read(make([]byte, 1))
	var nerr net.Error
	switch {
	case n > 0:
		t.Fatal("the swarm sent data to a socket that never handshook")
	case errors.As(err, &nerr) && nerr.Timeout():
		t.Fatal("the swarm did not close the socket")
	case err != io.EOF && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("read: %v", err)
	}
	return time.Since(begin)
}

// silentListener accepts TCP connections and never answers; it closes
// them (and itself) at the end of the test.
func silentListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	})
	return ln
}

// freeAddr is a 127.0.0.1 address with nothing listening (a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	a := ln.Addr().String()
	ln.Close()
	return a
}

// admitted counts the connections holding a place, handshaken or not.
func (s *Swarm) admitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// duplicates counts the connections the rule flagged as duplicates that
// are still admitted (held, or bounded).
func (s *Swarm) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.peers {
		if p.dup != nil {
			n++
		}
	}
	return n
}

func (s *Swarm) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}
