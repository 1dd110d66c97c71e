package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// serveUnix serves srv on a fresh unix socket and returns its path.
func serveUnix(t *testing.T, srv *Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return path
}

// TestBusyPastMaxClients: past the cap a client is told the daemon is
// busy, at once; once a client goes, the next is served.
func TestBusyPastMaxClients(t *testing.T) {
	busy := 0
	srv := NewServer(newMemBackend(), ServerOptions{MaxClients: 2, OnBusy: func(net.Addr) { busy++ }})
	path := serveUnix(t, srv)
	ctx := context.Background()
	var clients []*Client
	for range 2 {
		c, err := Dial(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	start := time.Now()
	if _, err := Dial(ctx, path); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third client: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the busy answer took %v", d)
	}
	clients[0].Close()
	waitFor(t, func() bool { return srv.Clients() == 1 })
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatalf("a client after one left: %v", err)
	}
	c.Close()
	clients[1].Close()
	if busy != 1 {
		t.Fatalf("OnBusy saw %d refusals, want 1", busy)
	}
}

// TestBusyOverTCP: over TCP the busy answer comes in the token reply.
func TestBusyOverTCP(t *testing.T) {
	srv := NewServer(newMemBackend(), ServerOptions{MaxClients: 1})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeTCP(ctx, l, "tok")
	first, err := DialTCP(ctx, l.Addr().String(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := DialTCP(ctx, l.Addr().String(), "tok"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second TCP client: %v, want ErrBusy", err)
	}
	if err := srv.ServeTCP(ctx, l, ""); err == nil {
		t.Fatal("ServeTCP without a token served")
	}
}

// TestHelloDeadline: a connection that never says hello is closed.
func TestHelloDeadline(t *testing.T) {
	srv := NewServer(newMemBackend(), ServerOptions{HelloTimeout: 100 * time.Millisecond})
	path := serveUnix(t, srv)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil { // EOF (or a reset) once the server hangs up
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a silent connection stayed open: %v", err)
		}
	}
}

// TestTCPIdleClose: a TCP client with nothing in flight is closed after
// the idle timeout; one waiting on a live read is not.
func TestTCPIdleClose(t *testing.T) {
	srv := NewServer(newMemBackend(), ServerOptions{TCPIdleTimeout: 150 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeTCP(ctx, l, "tok")
	idle, err := DialTCP(ctx, l.Addr().String(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	live, err := DialTCP(ctx, l.Addr().String(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := live.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan uint64, 10)
	go rc.Read(ctx, 0, 0, true, func(i uint64, b []byte) error { got <- i; return nil })
	select {
	case <-idle.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("an idle TCP client was not closed")
	}
	time.Sleep(500 * time.Millisecond) // three idle timeouts
	if _, err := rc.Append(ctx, []byte("x")); err != nil {
		t.Fatalf("the live reader's connection was cut: %v", err)
	}
	select {
	case i := <-got:
		if i != 0 {
			t.Fatalf("live read got block %d", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the live read never saw the append")
	}
}
