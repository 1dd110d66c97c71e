package rpc

import (
	"context"
	"net"
	"sync"
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

// TestUnreadAnswersDropTheClient: a client that asks for 8 MiB blocks and
// never reads the answers is dropped once 64 MiB wait for it; another
// client is served throughout.
func TestUnreadAnswersDropTheClient(t *testing.T) {
	b := newMemBackend()
	dropped := make(chan string, 1)
	srv := NewServer(b, ServerOptions{OnDrop: func(id uint64, reason string) { dropped <- reason }})
	a, z := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() { srv.ServeConn(ctx, a); close(served) }()
	sc := &stallConn{Conn: z, stall: make(chan struct{}), done: make(chan struct{})}
	c, err := NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Append(ctx, make([]byte, core.MaxBlockSize)); err != nil {
		t.Fatal(err)
	}
	close(sc.stall)
	for range 40 {
		// Never read: the stalled connection cannot take the answers.
		rc.c.Get(ctx, func(p schema.Core_get_Params) error { p.SetIndex(0); return nil })
	}
	select {
	case reason := <-dropped:
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
