package rpc

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// FuzzGuardSession replays what honest clients sent in recorded sessions,
// mutated, against an in-process server: whatever arrives, the server must
// not panic, must end the session when the peer goes, and must go on
// serving other clients. The seed corpus, testdata/fuzz/FuzzGuardSession,
// holds the sessions TestRecordGuardSessions records (go test -run
// TestRecordGuardSessions -guard.record) and the crashers of the guard's
// tests; run the seeds alone with plain go test, or fuzz with
//
//	go test ./rpc -run '^$' -fuzz '^FuzzGuardSession$' -fuzztime 60s
func FuzzGuardSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		if len(stream) > 1<<20 {
			t.Skip("longer than any recorded session")
		}
		// A session that never ends is a failure too: dump every goroutine.
		hung := time.AfterFunc(30*time.Second, func() {
			debug.SetTraceback("all")
			panic("FuzzGuardSession: the session hung")
		})
		t.Cleanup(func() { hung.Stop() }) // runs last, after the others
		srv := NewServer(newMemBackend(), ServerOptions{})
		p := newRawPeer(t, srv)
		p.replay(stream, 50*time.Millisecond)
		p.conn.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the server kept the session after the peer went")
		}
		stillServes(t, srv)
	})
}

var recordSessions = flag.Bool("guard.record", false, "record the seed corpus of FuzzGuardSession in testdata")

// guardSessions are the honest sessions the fuzz corpus starts from.
var guardSessions = map[string]func(ctx context.Context, t *testing.T, c *Client){
	"session-core":      sessionCore,
	"session-subscribe": sessionSubscribe,
	"session-store":     sessionStore,
	"session-parts":     sessionParts,
}

// sessionParts: an append in three pipelined parts, then a plain one.
func sessionParts(ctx context.Context, t *testing.T, c *Client) {
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	var sent []func() error
	for i, part := range [][][]byte{{[]byte("p0"), []byte("p1")}, {[]byte("p2")}, {[]byte("p3"), {}}} {
		f, release := sendPart(ctx, rc.c, part, i == 0, i == 2)
		sent = append(sent, func() error { return partErr(f, release) })
	}
	for _, wait := range sent {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rc.Append(ctx, []byte("p5")); err != nil || n != 6 {
		t.Fatalf("append after the parts: %d, %v", n, err)
	}
}

// sessionCore: open a core, append, get, read through a cursor, close.
func sessionCore(ctx context.Context, t *testing.T, c *Client) {
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Append(ctx, []byte("one"), []byte("two"), []byte("three")); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Get(ctx, 1, core.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Has(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := rc.Read(ctx, 0, 3, false, func(uint64, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

// sessionSubscribe: follow a core's events while appending to it.
func sessionSubscribe(ctx context.Context, t *testing.T, c *Client) {
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 64)
	rc.OnEvent(func(Event) { got <- struct{}{} })
	// The daemon may miss an append made as the subscription starts (its
	// pusher reads the length late), so append until an event comes.
	for seen := false; !seen; {
		if _, err := rc.Append(ctx, []byte("block")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			seen = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

// sessionStore: status, a named core opened twice, list, delete.
func sessionStore(ctx context.Context, t *testing.T, c *Client) {
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := c.Open(ctx, OpenRequest{Name: "named"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(ctx, OpenRequest{Name: "named"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	if err := c.Delete(ctx, a.Key()); err != nil {
		t.Fatal(err)
	}
}

// greeting is the start of a session sent by hand, as greet sends it: a
// fresh server exports the bootstrap as 0, the corestore as 1 and the new
// core as 2.
func greeting() []frame {
	return []frame{
		bootstrapFrame(0),
		helloFrame(1, toExport(0)),
		callFrame(2, toExport(0), schema.Daemon_TypeID, 3, nil),
		callFrame(3, toExport(1), schema.Corestore_TypeID, 0, func(s capnp.Struct) error {
			schema.Corestore_open_Params(s).SetNew(true)
			return nil
		}),
	}
}

// frames encodes a stream of frames, the lists among them flattened.
func frames(t testing.TB, fs ...any) []byte {
	var b []byte
	for _, f := range fs {
		switch f := f.(type) {
		case frame:
			b = append(b, encode(t, f)...)
		case []frame:
			for _, g := range f {
				b = append(b, encode(t, g)...)
			}
		}
	}
	return b
}

// teeConn keeps a copy of what the client writes.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *teeConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// recordSession runs one honest session and returns what the client sent.
func recordSession(t *testing.T, run func(ctx context.Context, t *testing.T, c *Client)) []byte {
	a, z := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { NewServer(newMemBackend(), ServerOptions{}).ServeConn(ctx, a); close(done) }()
	tee := &teeConn{Conn: z}
	c, err := NewClient(ctx, tee)
	if err != nil {
		t.Fatal(err)
	}
	run(ctx, t, c)
	time.Sleep(300 * time.Millisecond) // let capnp send its delayed Finishes
	c.Close()
	<-done
	tee.mu.Lock()
	defer tee.mu.Unlock()
	return bytes.Clone(tee.buf.Bytes())
}

// TestRecordGuardSessions runs the honest sessions through the guard and,
// with -guard.record, writes them and the guard's crashers as the seed
// corpus of FuzzGuardSession.
func TestRecordGuardSessions(t *testing.T) {
	seeds := map[string][]byte{}
	for name, run := range guardSessions {
		seeds[name] = recordSession(t, run)
	}
	seeds["crash-self-call"] = selfCall(t)
	seeds["crash-self-call-greeted"] = frames(t, greeting(), call(4, toAnswer(4)))
	seeds["crash-loopback-no-results"] = frames(t, greeting(),
		callFrame(4, toExport(2), schema.Core_TypeID, 14, nil), disembargoFrame(toAnswer(4), true, 0))
	seeds["crash-broken-target"] = brokenTarget()
	if !*recordSessions {
		return
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzGuardSession")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
