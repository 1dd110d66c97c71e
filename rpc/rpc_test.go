package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	crpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

func newPair(t *testing.T) (*memBackend, *Client) {
	b := newMemBackend()
	return b, pipeClient(t, NewServer(b, ServerOptions{}))
}

func TestReadRange(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := range 3000 {
		want = append(want, fmt.Appendf(nil, "block %d", i))
	}
	if _, err := rc.Append(ctx, want...); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	err = rc.Read(ctx, 10, 2990, false, func(i uint64, b []byte) error {
		if i != uint64(10+len(got)) {
			return fmt.Errorf("block %d out of order", i)
		}
		got = append(got, bytes.Clone(b))
		return nil
	})
	if err != nil || len(got) != 2980 || !bytes.Equal(got[0], want[10]) || !bytes.Equal(got[2979], want[2989]) {
		t.Fatalf("read: %d blocks, %v", len(got), err)
	}
}

func TestReadLive(t *testing.T) {
	_, c := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	rc.Append(ctx, []byte("0"))
	got := make(chan uint64, 10)
	stop := errors.New("enough")
	go func() {
		err := rc.Read(ctx, 0, 0, true, func(i uint64, b []byte) error {
			got <- i
			if i == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			t.Errorf("live read ended with %v", err)
		}
		close(got)
	}()
	if i := <-got; i != 0 {
		t.Fatalf("first block %d", i)
	}
	rc.Append(ctx, []byte("1"), []byte("2"))
	if a, b := <-got, <-got; a != 1 || b != 2 {
		t.Fatalf("live blocks %d, %d", a, b)
	}
}

func TestDownload(t *testing.T) {
	_, c := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	rc.Append(ctx, []byte("a"), []byte("b"))
	d, err := rc.Download(ctx, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(ctx); err != nil {
		t.Fatalf("a download of blocks already here: %v", err)
	}
	pending, err := rc.Download(ctx, 0, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- pending.Wait(ctx) }()
	rc.Append(ctx, []byte("c"), []byte("d"), []byte("e"))
	if err := <-waited; err != nil {
		t.Fatalf("download completed by appends: %v", err)
	}
	live, _ := rc.Download(ctx, 0, 0, true)
	go func() { waited <- live.Wait(ctx) }()
	if err := live.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled live download: %v", err)
	}
}

// TestServerRefusesOversizedBlock sends a 9 MiB block without the client's
// own check: the server refuses it with a clear error and the connection
// keeps working.
func TestServerRefusesOversizedBlock(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	f, release := rc.c.Append(ctx, func(p schema.Core_append_Params) error {
		list, err := p.NewBlocks(1)
		if err != nil {
			return err
		}
		return list.Set(0, make([]byte, 9<<20))
	})
	_, err := f.Struct()
	release()
	if err = wireErr(err); !errors.Is(err, core.ErrBlockTooLarge) {
		t.Fatalf("raw 9 MiB append: %v, want ErrBlockTooLarge", err)
	}
	if _, err := rc.Append(ctx, []byte("ok")); err != nil {
		t.Fatalf("append after the refusal: %v", err)
	}
	nine := make([][]byte, 9)
	for i := range nine {
		nine[i] = make([]byte, core.MaxBlockSize)
	}
	if _, err := rc.Append(ctx, nine...); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a 72 MiB batch: %v, want ErrTooLarge", err)
	}
}

// rawDaemon bootstraps a connection without the client's handshake.
func rawDaemon(t *testing.T) schema.Daemon {
	a, z := net.Pipe()
	srv := NewServer(newMemBackend(), ServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	go srv.ServeConn(ctx, a)
	conn := crpc.NewConn(transport.New(newCodec(z)), nil)
	t.Cleanup(func() { conn.Close(); cancel() })
	return schema.Daemon(conn.Bootstrap(ctx))
}

func TestHandshakeRules(t *testing.T) {
	ctx := context.Background()
	d := rawDaemon(t)
	f, release := d.Status(ctx, nil)
	_, err := f.Struct()
	release()
	if !errors.Is(wireErr(err), ErrBadRequest) {
		t.Fatalf("status before hello: %v, want ErrBadRequest", err)
	}
	h, release := d.Hello(ctx, func(p schema.Daemon_hello_Params) error {
		p.SetProtocol(Protocol + 1)
		return p.SetVersion("v9.9.9")
	})
	_, err = h.Struct()
	release()
	if !errors.Is(wireErr(err), ErrIncompatible) {
		t.Fatalf("hello with protocol %d: %v, want ErrIncompatible", Protocol+1, err)
	}
}

func TestVersionSkew(t *testing.T) {
	_, c := newPair(t)
	if c.VersionSkew() {
		t.Fatalf("same build reports skew: %q vs %q", c.DaemonVersion, Version)
	}
	old := Version
	Version = "v0.0.1-test"
	defer func() { Version = old }()
	if !c.VersionSkew() {
		t.Fatal("different versions report no skew")
	}
}

func TestGetCancelledByContext(t *testing.T) {
	b, c := newPair(t)
	rc, _ := c.Open(context.Background(), OpenRequest{New: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := rc.Get(ctx, 7, core.GetOptions{})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled get: %v after %v", err, time.Since(start))
	}
	rc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for b.refs() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if b.refs() != 0 {
		t.Fatalf("%d handles still held after close", b.refs())
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	var missing core.Key
	if _, err := c.Open(ctx, OpenRequest{Key: &missing}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open of an unknown key: %v", err)
	}
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	if _, err := rc.Get(ctx, 0, core.GetOptions{NoWait: true}); !errors.Is(err, core.ErrNotAvailable) {
		t.Fatalf("get no-wait: %v", err)
	}
	if _, _, err := rc.Seek(ctx, 5); !errors.Is(err, core.ErrOutOfRange) {
		t.Fatalf("seek: %v", err)
	}
	if _, err := rc.Get(ctx, 0, core.GetOptions{Timeout: 10 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get with timeout: %v", err)
	}
	for _, err := range []error{core.ErrCorrupt, ErrNetworkUnavailable, core.ErrNotWritable} {
		if got := fromWire(toWire(fmt.Errorf("wrapped: %w", err))); !errors.Is(got, err) {
			t.Errorf("%v does not survive the wire: %v", err, got)
		}
	}
}

func TestNetworkNotAvailableYet(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	if err := c.Configure(ctx, core.DiscoveryKey{}, ConfigureOptions{Announce: true, Lookup: true}); !errors.Is(err, ErrNetworkUnavailable) {
		t.Fatalf("configure: %v, want ErrNetworkUnavailable", err)
	}
	if _, err := c.Peers(ctx); !errors.Is(err, ErrNetworkUnavailable) {
		t.Fatalf("peers: %v", err)
	}
	if _, err := c.Topics(ctx); !errors.Is(err, ErrNetworkUnavailable) {
		t.Fatalf("topics: %v", err)
	}
}

func TestExtensionWithoutPeers(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	x, err := rc.RegisterExtension(ctx, "hypertrie", func(core.Key, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.Send(ctx, []byte("hello"), nil); err != nil || n != 0 {
		t.Fatalf("send with no peers: %d, %v", n, err)
	}
	if _, err := rc.RegisterExtension(ctx, "", nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("an unnamed extension: %v", err)
	}
}

// TestGetReadAhead: sequential gets are answered from read-ahead, give the
// same bytes as single gets, and never wait for blocks the daemon lacks.
func TestGetReadAhead(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	var want [][]byte
	for i := range 300 {
		want = append(want, fmt.Appendf(nil, "block %d", i))
	}
	rc.Append(ctx, want...)
	for _, order := range [][]int{seqIndices(0, 300), {5, 6, 7, 3, 4, 5, 200, 201, 202, 299}} {
		for _, i := range order {
			got, err := rc.Get(ctx, uint64(i), core.GetOptions{})
			if err != nil || !bytes.Equal(got, want[i]) {
				t.Fatalf("get %d: %q, %v", i, got, err)
			}
			got[0] = 'X' // the caller owns what it got
		}
	}
	if b, _ := rc.Get(ctx, 1, core.GetOptions{}); !bytes.Equal(b, want[1]) {
		t.Fatalf("a held block changed under its caller: %q", b)
	}
	if _, err := rc.Get(ctx, 300, core.GetOptions{NoWait: true}); !errors.Is(err, core.ErrNotAvailable) {
		t.Fatalf("get past the end: %v", err)
	}
	rc.Close()
	if _, err := rc.Get(ctx, 2, core.GetOptions{}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("get of a held block after close: %v", err)
	}
}

func seqIndices(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
