package replicate

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// block is block i of the test cores: (i*7919) % 3001 bytes (0 for some),
// byte j = (i*31 + j*17 + j>>8) % 256; testdata/jspeer/peer.js makes the
// same bytes.
func block(i uint64) []byte {
	b := make([]byte, (i*7919)%3001)
	for j := range b {
		b[j] = byte((i*31 + uint64(j)*17 + uint64(j)>>8) % 256)
	}
	return b
}

// appendBlocks appends n blocks in batches of 1 + ((k+batch)*37) % 23, as
// peer.js does, so that the signed lengths are irregular.
func appendBlocks(t testing.TB, c *core.Hypercore, n, k int) {
	t.Helper()
	for batch := 0; n > 0; batch++ {
		size := min(n, 1+((k+batch)*37)%23)
		blocks := make([][]byte, size)
		for i := range blocks {
			blocks[i] = block(c.Length() + uint64(i))
		}
		if _, err := c.Append(context.Background(), blocks...); err != nil {
			t.Fatal(err)
		}
		n -= size
	}
}

func newWriter(t testing.TB, n int) *core.Hypercore {
	t.Helper()
	kp, err := core.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := openCore(t, kp, core.NewMemoryStorage())
	appendBlocks(t, w, n, 0)
	return w
}

func openCore(t testing.TB, kp core.KeyPair, st core.Storage) *core.Hypercore {
	t.Helper()
	c, err := core.Open(context.Background(), st, kp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newReader(t testing.TB, key core.Key) *core.Hypercore {
	t.Helper()
	return openCore(t, core.KeyPair{PublicKey: key}, core.NewMemoryStorage())
}

// checkBlocks fails unless c holds blocks [start, end) with the right bytes.
func checkBlocks(t testing.TB, c *core.Hypercore, start, end uint64) {
	t.Helper()
	ctx := context.Background()
	for i := start; i < end; i++ {
		got, err := c.Get(ctx, i, core.GetOptions{NoWait: true})
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if string(got) != string(block(i)) {
			t.Fatalf("block %d: %d bytes, not the ones appended", i, len(got))
		}
	}
	if rep, err := c.Audit(ctx); err != nil {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// fastOptions are Options with short timers for tests.
func fastOptions() Options {
	return Options{Tick: 10 * time.Millisecond, RequestTimeout: 2 * time.Second}
}

// link is a connection between two replicators; each side's Run result
// arrives on its channel.
type link struct {
	a, b       *wire.Stream
	errA, errB chan error
	connA      net.Conn
}

// pipe connects over net.Pipe, tcp over TCP on 127.0.0.1 (buffered, as
// a daemon would).
func pipe(t testing.TB) (net.Conn, net.Conn) { return net.Pipe() }

func tcp(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	a, b := tcpPlain(t)
	return BufferedConn(a), BufferedConn(b)
}

func tcpPlain(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return a, r.c
}

// handshake makes both ends streams, a the initiator.
func handshake(t testing.TB, ca, cb net.Conn) (*wire.Stream, *wire.Stream) {
	t.Helper()
	ka, _ := wire.GenerateKeyPair(rand.Reader)
	kb, _ := wire.GenerateKeyPair(rand.Reader)
	a := wire.NewStream(ca, wire.Config{Initiator: true, KeyPair: ka})
	b := wire.NewStream(cb, wire.Config{KeyPair: kb})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- b.Handshake(ctx) }()
	if err := a.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return a, b
}

// connect runs ra and rb against each other over a fresh connection.
func connect(t testing.TB, ra, rb *Replicator, dial func(testing.TB) (net.Conn, net.Conn)) *link {
	t.Helper()
	ca, cb := dial(t)
	a, b := handshake(t, ca, cb)
	l := &link{a: a, b: b, errA: make(chan error, 1), errB: make(chan error, 1), connA: ca}
	go func() { l.errA <- ra.Run(context.Background(), a) }()
	go func() { l.errB <- rb.Run(context.Background(), b) }()
	t.Cleanup(l.close)
	return l
}

func (l *link) close() {
	l.a.Close()
	l.b.Close()
}

// wait returns a side's Run result.
func wait(t testing.TB, errc chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		errc <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return in 10 s")
	}
	return nil
}

func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newReplicator(t testing.TB, o Options) *Replicator {
	r := New(o)
	t.Cleanup(func() { r.Close() })
	return r
}

func isCut(err, reason error) bool {
	var pe *PeerError
	return errors.As(err, &pe) && errors.Is(pe.Reason, reason)
}
