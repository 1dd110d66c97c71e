package replicate

import (
	"context"
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
