package replicate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// TestRemoteTellsPeersLengthsAndRefusals: a peer with the core shows up
// as known with its length; a peer without it as a refusal.
func TestRemoteTellsPeersLengthsAndRefusals(t *testing.T) {
	w := newWriter(t, 50)
	reader := newReplicator(t, fastOptions())
	h := reader.Add(newReader(t, w.Key()), CoreOptions{Sparse: true})

	empty := newReplicator(t, fastOptions()) // has no core at all
	connect(t, reader, empty, pipe)
	waitFor(t, 2*time.Second, "refusal", func() bool { return h.Remote().Refused == 1 })
	if r := h.Remote(); r.Peers != 0 || r.Known != 0 || r.Length != 0 {
		t.Fatalf("after a refusal: %+v", r)
	}

	holder := newReplicator(t, fastOptions())
	holder.Add(w, CoreOptions{})
	connect(t, reader, holder, pipe)
	waitFor(t, 2*time.Second, "known peer", func() bool { return h.Remote().Known == 1 })
	if r := h.Remote(); r.Peers != 1 || r.Length != 50 || r.Refused != 1 {
		t.Fatalf("with a holder: %+v, want 1 peer of length 50 and 1 refusal", r)
	}
	if !h.PeerHas(0) || !h.PeerHas(49) || h.PeerHas(50) {
		t.Fatalf("PeerHas: 0 %v, 49 %v, 50 %v; want the holder's 50 blocks", h.PeerHas(0), h.PeerHas(49), h.PeerHas(50))
	}
}

// TestReleaseRunsWhenAServedCoreIsForgotten: a core a Lookup found is
// given back to its owner once its last channel closes.
func TestReleaseRunsWhenAServedCoreIsForgotten(t *testing.T) {
	w := newWriter(t, 10)
	released := make(chan struct{}, 1)
	opts := fastOptions()
	opts.Lookup = func(ctx context.Context, dk core.DiscoveryKey) (Core, CoreOptions, bool) {
		return w, CoreOptions{Release: func() { released <- struct{}{} }}, dk == w.DiscoveryKey()
	}
	server := newReplicator(t, opts)
	reader := newReplicator(t, fastOptions())
	h := reader.Add(newReader(t, w.Key()), CoreOptions{})
	l := connect(t, reader, server, pipe)
	if err := h.Download(within(t, 5*time.Second), 0, 10); err != nil {
		t.Fatal(err)
	}
	select {
	case <-released:
		t.Fatal("released while a peer still replicates it")
	default:
	}
	l.a.Close()
	select {
	case <-released:
	case <-time.After(2 * time.Second):
		t.Fatal("not released after the stream closed")
	}
}

// eventLog collects a core's events.
type eventLog struct {
	mu     sync.Mutex
	counts map[EventKind]int
	bytes  uint64
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[EventKind]int{}
	}
	l.counts[ev.Kind]++
	if ev.Kind == Download || ev.Kind == Upload {
		l.bytes += ev.Bytes
	}
}

func (l *eventLog) count(k EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[k]
}

// TestEvents: both sides of a download hear of the peer coming and going
// and of every block, with its bytes.
func TestEvents(t *testing.T) {
	const n = 300
	w := newWriter(t, n)
	var up, down eventLog
	rw := newReplicator(t, fastOptions())
	rw.Add(w, CoreOptions{OnEvent: up.add})
	rr := newReplicator(t, fastOptions())
	r := newReader(t, w.Key())
	h := rr.Add(r, CoreOptions{OnEvent: down.add})
	l := connect(t, rr, rw, pipe)
	if err := h.Download(within(t, 10*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	if down.count(PeerAdd) != 1 || up.count(PeerAdd) != 1 || down.count(Download) != n || down.bytes != r.ByteLength() {
		t.Fatalf("reader heard %v (%d bytes), writer %v", down.counts, down.bytes, up.counts)
	}
	waitFor(t, 2*time.Second, "upload events", func() bool { return up.count(Upload) == n })
	l.a.Close()
	waitFor(t, 2*time.Second, "peer-remove", func() bool { return up.count(PeerRemove) == 1 && down.count(PeerRemove) == 1 })
}

// TestRegisteredExtension: an extension registered on a core after the
// channels opened reaches the peer that registered it too, both ways, to
// every peer or to one.
func TestRegisteredExtension(t *testing.T) {
	w := newWriter(t, 5)
	got := make(chan string, 4)
	opts := fastOptions()
	opts.OnExtension = func(p PeerInfo, dk core.DiscoveryKey, name string, payload []byte) {
		got <- name + ":" + string(payload)
	}
	ra, rb := newReplicator(t, opts), newReplicator(t, opts)
	ha := ra.Add(w, CoreOptions{})
	hb := rb.Add(newReader(t, w.Key()), CoreOptions{})
	connect(t, ra, rb, pipe)
	waitFor(t, 2*time.Second, "the channel", func() bool { return ha.Peers() == 1 && hb.Peers() == 1 })
	if err := ha.SendExtension("x", []byte("early")); err == nil {
		t.Fatal("sent on an unregistered extension")
	}
	for _, h := range []*Handle{ha, hb} {
		if err := h.RegisterExtension("x"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // both Options arrive
	if n, err := ha.SendExtensionTo(nil, "x", []byte("to all")); err != nil || n != 1 {
		t.Fatalf("send to all: %d, %v", n, err)
	}
	bKey := ra.Peers()[0].RemotePublicKey
	if n, err := ha.SendExtensionTo(&bKey, "x", []byte("to one")); err != nil || n != 1 {
		t.Fatalf("send to one: %d, %v", n, err)
	}
	if err := hb.SendExtension("x", []byte("back")); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"x:to all": true, "x:to one": true, "x:back": true}
	for range 3 {
		select {
		case m := <-got:
			if !want[m] {
				t.Fatalf("unexpected message %q", m)
			}
			delete(want, m)
		case <-time.After(2 * time.Second):
			t.Fatalf("messages not received: %v", want)
		}
	}
}
