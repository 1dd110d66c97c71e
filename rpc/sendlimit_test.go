package rpc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// stallConn stops reading when told, as a client that never reads its
// answers.
type stallConn struct {
	net.Conn
	once  sync.Once
	stall chan struct{}
	done  chan struct{}
}

func (c *stallConn) Read(b []byte) (int, error) {
	select {
	case <-c.stall:
		<-c.done
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(b)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// stalledClient connects a client to srv over a pipe, opens a new core,
// appends one block of core.MaxBlockSize, and then stops reading: from
// then on the daemon's answers pile up. served closes when srv's session
// ends; the connection closes with the test.
func stalledClient(t *testing.T, srv *Server) (rc *RemoteCore, sc *stallConn, served <-chan struct{}) {
	t.Helper()
	a, z := net.Pipe()
	done := make(chan struct{})
	go func() { srv.ServeConn(t.Context(), a); close(done) }()
	sc = &stallConn{Conn: z, stall: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { sc.Close() })
	c, err := NewClient(t.Context(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if rc, err = c.Open(t.Context(), OpenRequest{New: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Append(t.Context(), make([]byte, core.MaxBlockSize)); err != nil {
		t.Fatal(err)
	}
	close(sc.stall)
	return rc, sc, done
}

// TestUnreadAnswersDropTheClient: a client that asks for 8 MiB blocks and
// never reads the answers is dropped once 64 MiB have waited for it for
// SlowConsumer; another client is served throughout.
func TestUnreadAnswersDropTheClient(t *testing.T) {
	b := newMemBackend()
	dropped := make(chan string, 1)
	srv := NewServer(b, ServerOptions{Limits: Limits{SlowConsumer: 500 * time.Millisecond},
		OnDrop: func(id uint64, reason string) { dropped <- reason }})
	ctx := t.Context()
	rc, _, served := stalledClient(t, srv)
	for range 40 {
		// Never read: the stalled connection cannot take the answers.
		rc.c.Get(ctx, func(p schema.Core_get_Params) error { p.SetIndex(0); return nil })
	}
	select {
	case reason := <-dropped:
		if !strings.Contains(reason, "unread for 500ms") {
			t.Fatalf("dropped for %q, want the unread answers", reason)
		}
		t.Logf("dropped: %s", reason)
	case <-time.After(20 * time.Second):
		t.Fatal("a client that never reads was not dropped")
	}
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the dropped session did not end")
	}
	other := pipeClient(t, srv)
	if _, err := other.Status(ctx); err != nil {
		t.Fatalf("another client after the drop: %v", err)
	}
}

// TestFastReaderIsNotDropped: a client reading far more than the bound on
// what it may leave unread, faster than capnp-go Finishes its questions
// (250 ms after each answer), is slowed by the bound, never dropped, and
// gets every block, through Read and through parallel Gets.
func TestFastReaderIsNotDropped(t *testing.T) {
	b := newMemBackend()
	dropped := make(chan string, 1)
	srv := NewServer(b, ServerOptions{OnDrop: func(id uint64, reason string) { dropped <- reason }})
	c := pipeClient(t, srv)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 64, 2 << 20 // 128 MiB, twice the bound
	block := make([]byte, size)
	for i := range n {
		block[0] = byte(i)
		if _, err := rc.Append(ctx, block); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	err = rc.Read(ctx, 0, n, false, func(i uint64, b []byte) error {
		if len(b) != size || b[0] != byte(i) {
			return fmt.Errorf("block %d: %d bytes, first %d", i, len(b), b[0])
		}
		got++
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("read %d of %d blocks: %v", got, n, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := rc.Get(ctx, uint64(i), core.GetOptions{})
			if err == nil && (len(b) != size || b[0] != byte(i)) {
				err = fmt.Errorf("block %d: %d bytes, first %d", i, len(b), b[0])
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("get: %v", err)
	}
	select {
	case reason := <-dropped:
		t.Fatalf("a client that reads was dropped: %s", reason)
	default:
	}
}

// gatedBackend holds every append until its gate opens, counting the
// appends that reached it.
type gatedBackend struct {
	*memBackend
	gate    chan struct{}
	reached atomic.Int32
}

func (g *gatedBackend) Open(ctx context.Context, req OpenRequest) (Handle, error) {
	h, err := g.memBackend.Open(ctx, req)
	if err == nil {
		h.Core = gatedCore{LocalCore: h.Core, g: g}
	}
	return h, err
}

type gatedCore struct {
	LocalCore
	g *gatedBackend
}

func (c gatedCore) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	c.g.reached.Add(1)
	select {
	case <-c.g.gate:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return c.LocalCore.Append(ctx, blocks...)
}

// TestPipelinedAppendsAreBounded: a client pipelining appends faster than
// they commit is read only as far as the bound on the bytes of calls the
// daemon holds (here 8 MiB: 8 appends of 1 MiB and the one read past
// it), and every append completes once they commit.
func TestPipelinedAppendsAreBounded(t *testing.T) {
	g := &gatedBackend{memBackend: newMemBackend(), gate: make(chan struct{})}
	c := pipeClient(t, NewServer(g, ServerOptions{Limits: Limits{CallBytes: 8 << 20}}))
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 32
	block := make([]byte, 1<<20)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- rawAppend(ctx, rc, [][]byte{block})
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if got := g.reached.Load(); got > 9 {
		t.Fatalf("%d appends of 1 MiB read while the bound is 8 MiB", got)
	}
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if got := g.reached.Load(); got != n {
		t.Fatalf("%d of %d appends reached the core", got, n)
	}
}

// TestEveryCallIsReleased: after each honest session of the fuzz corpus,
// the connection, still open, holds none of the client's messages: capnp
// releases every one, so the bound on them never fills over a long life.
func TestEveryCallIsReleased(t *testing.T) {
	for name, session := range guardSessions {
		t.Run(name, func(t *testing.T) {
			srv := NewServer(newMemBackend(), ServerOptions{})
			got := make(chan *recvLimit, 1)
			srv.onRecvLimit = func(r *recvLimit) { got <- r }
			c := pipeClient(t, srv)
			recvs := <-got
			session(context.Background(), t, c)
			deadline := time.Now().Add(5 * time.Second)
			for recvs.holding() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("after the session the daemon holds %d bytes of its messages", recvs.holding())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
