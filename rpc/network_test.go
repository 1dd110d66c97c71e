package rpc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

func newNetPair(t *testing.T) (*memBackend, *Client) {
	b := newNetBackend()
	return b, pipeClient(t, NewServer(b, ServerOptions{}))
}

// TestNetworkTranslates: every Network call reaches the backend and its
// answer comes back whole.
func TestNetworkTranslates(t *testing.T) {
	b, c := newNetPair(t)
	ctx := context.Background()
	dk := core.DiscoveryKey{7, 7, 7}
	if err := c.Configure(ctx, dk, ConfigureOptions{Announce: true, Lookup: false}); err != nil {
		t.Fatal(err)
	}
	ts, err := c.TopicStatus(ctx, dk)
	if err != nil || ts != (TopicStatus{DiscoveryKey: dk, Announce: true}) {
		t.Fatalf("topic status: %+v, %v", ts, err)
	}
	if _, err := c.TopicStatus(ctx, core.DiscoveryKey{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("status of an unknown topic: %v", err)
	}
	topics, err := c.Topics(ctx)
	if err != nil || len(topics) != 1 || topics[0] != ts {
		t.Fatalf("topics: %+v, %v", topics, err)
	}
	pl, err := c.Peers(ctx)
	if err != nil || len(pl.Peers) != 1 || pl.Peers[0].RemotePublicKey != memPeer || pl.Peers[0].Type != "tcp" ||
		pl.Peers[0].UploadedBytes != 7 || len(pl.Peers[0].DiscoveryKeys) != 1 || pl.Disconnects["bad-data"] != 2 {
		t.Fatalf("peers: %+v, %v", pl, err)
	}
	conn, err := c.Connect(ctx, "127.0.0.1:4000")
	if err != nil || conn.Peer.RemoteAddress != "127.0.0.1:4000" || conn.Peer.RemotePublicKey != memPeer || !conn.Peer.Initiator {
		t.Fatalf("connect: %+v, %v", conn, err)
	}
	if !b.network().kept("127.0.0.1:4000") {
		t.Fatal("the connection is not kept after connect")
	}
	if err := conn.Close(ctx); err != nil || b.network().kept("127.0.0.1:4000") {
		t.Fatalf("close: %v; still kept: %v", err, b.network().kept("127.0.0.1:4000"))
	}
	if _, err := c.Connect(ctx, "refuse:1"); !errors.Is(err, ErrNetworkUnavailable) {
		t.Fatalf("a refused connect: %v", err)
	}
	if _, err := c.Connect(ctx, ""); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("connect without an address: %v", err)
	}
	if _, err := c.Connect(ctx, "127.0.0.1:4001"); err != nil {
		t.Fatal(err)
	}
	c.Close() // the session ends: its connections go with it
	for end := time.Now().Add(5 * time.Second); b.network().kept("127.0.0.1:4001"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("a connection outlived its session")
		}
	}
}

// TestExtensionBothWays: a message sent through the RPC reaches the
// backend's extension, and one the backend receives reaches the client's
// handler with its peer.
func TestExtensionBothWays(t *testing.T) {
	_, c := newNetPair(t)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	var from core.Key
	x, err := rc.RegisterExtension(ctx, "echo", func(peer core.Key, data []byte) { from = peer; got <- data })
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.Send(ctx, []byte("ping"), nil); err != nil || n != 1 {
		t.Fatalf("send to all: %d, %v", n, err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, []byte("ping")) || from != memPeer {
			t.Fatalf("echo %q from %s", b, from)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the peer's message never reached the handler")
	}
	other := core.Key{9}
	if n, err := x.Send(ctx, []byte("x"), &other); err != nil || n != 0 {
		t.Fatalf("send to an unknown peer: %d, %v", n, err)
	}
	if _, err := x.Send(ctx, make([]byte, core.MaxBlockSize+1), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an oversized message: %v", err)
	}
}

// TestSubscribesOnFirstNeed: opening a core and appending to it starts no
// event subscription; asking for the length does, once.
func TestSubscribesOnFirstNeed(t *testing.T) {
	b := newMemBackend()
	srv := NewServer(b, ServerOptions{})
	c := pipeClient(t, srv)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Append(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if n, bl := rc.Known(); n != 1 || bl != 1 {
		t.Fatalf("known after append: %d, %d", n, bl)
	}
	if info := rc.OpenInfo(); info.Length != 0 || !info.Writable || info.Key != rc.Key() {
		t.Fatalf("open info: %+v", info)
	}
	if n := srv.subscriptions.Load(); n != 0 {
		t.Fatalf("%d subscriptions after open and append, want 0", n)
	}
	rc.Length()
	rc.ByteLength()
	rc.OnEvent(func(Event) {})
	waitFor(t, func() bool { return srv.subscriptions.Load() == 1 })
	rc.Close()
	waitFor(t, func() bool { return srv.subscriptions.Load() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}

// TestNetworkSessions: each connection configures as its own session, and
// the backend hears when a session that configured ends (and only then).
func TestNetworkSessions(t *testing.T) {
	b := newNetBackend()
	srv := NewServer(b, ServerOptions{})
	ctx := context.Background()
	c1, c2, c3 := pipeClient(t, srv), pipeClient(t, srv), pipeClient(t, srv)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c1.Configure(ctx, core.DiscoveryKey{1}, ConfigureOptions{Announce: true, Remember: true}))
	must(c2.Configure(ctx, core.DiscoveryKey{1}, ConfigureOptions{Lookup: true}))
	if _, err := c3.Status(ctx); err != nil {
		t.Fatal(err)
	}
	n := b.network()
	n.mu.Lock()
	sessions := len(n.sessions)
	n.mu.Unlock()
	if sessions != 2 {
		t.Fatalf("%d sessions configured, want 2 (one per connection)", sessions)
	}
	ts, err := c1.TopicStatus(ctx, core.DiscoveryKey{1})
	if err != nil || ts.Announce || !ts.Lookup || ts.Remember {
		t.Fatalf("status after c2's configure: %+v, %v", ts, err) // the fake keeps the last
	}
	c1.Close()
	c3.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.endedSessions()) < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // c3's close, had it called EndSession
	if ended := n.endedSessions(); len(ended) != 1 {
		t.Fatalf("sessions ended: %v, want only c1's", ended)
	}
	key := core.Key{5}
	must(c2.Seed(ctx, key))
	must(c2.Unseed(ctx, key))
	if err := c2.Unseed(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unseed of a core not seeded: %v", err)
	}
}
