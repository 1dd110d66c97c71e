package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func loaded(t *testing.T, c *rpc.Client) uint64 {
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.CoresLoaded
}

// TestSessionReleasedOnDisconnect kills a client in the middle of a call:
// its cores are released and the daemon keeps serving the others.
func TestSessionReleasedOnDisconnect(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{IdleTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	watcher := dial(t, d)
	victim, err := rpc.Dial(ctx, d.Paths().Socket)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := victim.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		close(started)
		rc.Get(ctx, 100, core.GetOptions{}) // waits for a block that never comes
	}()
	<-started
	waitFor(t, "the core to be loaded", func() bool { return loaded(t, watcher) == 1 })
	victim.Close() // the client goes away mid-call
	waitFor(t, "the session to be released", func() bool { return loaded(t, watcher) == 0 })
	waitFor(t, "the client count to drop", func() bool {
		st, _ := watcher.Status(ctx)
		return st.Clients == 1
	})
}

// TestGarbageOnSocket writes junk to the socket: that connection dies, the
// daemon and its other clients do not.
func TestGarbageOnSocket(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	good := dial(t, d)
	rc, err := good.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},                        // a huge segment count
		{0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f},                        // a 1 GiB segment
		append([]byte{0, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 16)...), // a nonsense message
	} {
		conn, err := net.Dial("unix", d.Paths().Socket)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(junk)
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 1024)
		for {
			if _, err := conn.Read(buf); err != nil {
				break // the daemon hung up, or ignored the junk: both are fine
			}
		}
		conn.Close()
	}
	if _, err := rc.Append(ctx, []byte("still here")); err != nil {
		t.Fatalf("a good client after garbage: %v", err)
	}
	if st, err := good.Status(ctx); err != nil || st.Clients != 1 {
		t.Fatalf("status after garbage: %+v, %v", st, err)
	}
}

// TestConcurrentClientsAppend: 50 clients append to one core; every block
// is there exactly once.
func TestConcurrentClientsAppend(t *testing.T) {
	const clients, each = 50, 20
	d := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- appendFrom(ctx, d.Paths().Socket, i, each)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rc, err := dial(t, d).Open(ctx, rpc.OpenRequest{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Length() != clients*each {
		t.Fatalf("length %d, want %d", rc.Length(), clients*each)
	}
	seen := map[string]bool{}
	for i := range rc.Length() {
		b, err := rc.Get(ctx, i, core.GetOptions{NoWait: true})
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(b)] {
			t.Fatalf("block %q appears twice", b)
		}
		seen[string(b)] = true
	}
	if _, err := rc.Audit(ctx); err != nil {
		t.Fatal(err)
	}
}

func appendFrom(ctx context.Context, socket string, client, n int) error {
	c, err := rpc.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	rc, err := c.Open(ctx, rpc.OpenRequest{Name: "shared"})
	if err != nil {
		return err
	}
	defer rc.Close()
	for j := range n {
		if _, err := rc.Append(ctx, fmt.Appendf(nil, "client %d block %d", client, j)); err != nil {
			return fmt.Errorf("client %d: %w", client, err)
		}
	}
	return nil
}

// TestEventsInOrder: append events reach a subscriber in order.
func TestEventsInOrder(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	writer, err := dial(t, d).Open(ctx, rpc.OpenRequest{Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := dial(t, d).Open(ctx, rpc.OpenRequest{Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lengths []uint64
	watcher.OnEvent(func(ev rpc.Event) {
		mu.Lock()
		defer mu.Unlock()
		lengths = append(lengths, ev.Length)
	})
	for i := range 200 {
		if _, err := writer.Append(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the last event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lengths) > 0 && lengths[len(lengths)-1] == 200
	})
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(lengths); i++ {
		if lengths[i] <= lengths[i-1] {
			t.Fatalf("event %d has length %d after %d", i, lengths[i], lengths[i-1])
		}
	}
	if watcher.Length() != 200 {
		t.Fatalf("the watcher's cached length is %d", watcher.Length())
	}
	t.Logf("200 appends arrived as %d events", len(lengths))
}

func TestOversizedBlock(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	rc, err := dial(t, d).Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 9<<20)
	rand.Read(big)
	if _, err := rc.Append(ctx, big); !errors.Is(err, core.ErrBlockTooLarge) {
		t.Fatalf("a 9 MiB block: %v, want ErrBlockTooLarge", err)
	}
	if n, err := rc.Append(ctx, big[:core.MaxBlockSize]); err != nil || n != 1 {
		t.Fatalf("an 8 MiB block: %d, %v", n, err)
	}
	if b, err := rc.Get(ctx, 0, core.GetOptions{}); err != nil || len(b) != core.MaxBlockSize {
		t.Fatalf("get of the 8 MiB block: %d bytes, %v", len(b), err)
	}
}
