package swarm

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func foundAt(t *testing.T, topic [32]byte, addr string) Found {
	t.Helper()
	a, err := netip.ParseAddrPort(addr)
	must(t, err)
	return Found{Topic: topic, Addr: a}
}

// shortQueue gives s a queue with retries after 30, 60, 120 ms (times
// 0.66–1.33) and dropped peers forgotten after 200 ms; call it before
// Run.
func shortQueue(s *Swarm) {
	s.queue = newPeerQueue(queueConfig{
		retry:  [3]time.Duration{30 * time.Millisecond, 60 * time.Millisecond, 120 * time.Millisecond},
		forget: 200 * time.Millisecond,
	})
}

// TestAddPeerConnects: a swarm fed two peers connects to both, and keeps
// them active in its queue.
func TestAddPeerConnects(t *testing.T) {
	b, c := newSwarm(t, Options{}), newSwarm(t, Options{})
	start(t, b)
	start(t, c)
	a := newSwarm(t, Options{})
	a.AddPeer(foundAt(t, qtopic(1), addr(b))) // before Run: dialled once it runs
	start(t, a)
	a.AddPeer(foundAt(t, qtopic(2), addr(c)))
	eventually(t, "A connected to B and C", func() bool {
		return len(a.Conns()) == 2 && len(b.Conns()) == 1 && len(c.Conns()) == 1
	})
	for _, cn := range a.Conns() {
		if !cn.Initiator {
			t.Fatalf("A accepted %+v; it should have dialled", cn)
		}
	}
	if qc := a.queue.counts(); qc != (queueCounts{Active: 2}) {
		t.Fatalf("A's queue: %+v, want both active", qc)
	}
}

// TestAddPeerRefusedBacksOff: a peer that refuses is dialled four times,
// the retries spaced by the backoff, then dropped and forgotten.
func TestAddPeerRefusedBacksOff(t *testing.T) {
	a := newSwarm(t, Options{})
	shortQueue(a)
	start(t, a)
	begin := time.Now()
	a.AddPeer(foundAt(t, qtopic(1), freeAddr(t)))
	eventually(t, "four dials", func() bool { return a.Stats().DialFailed == 4 })
	took := time.Since(begin)
	if lo := (30 + 60 + 120) * time.Millisecond * 66 / 100; took < lo {
		t.Fatalf("four dials within %v, want the retries spaced by %v at least", took, lo)
	}
	eventually(t, "the peer dropped", func() bool { return a.queue.counts() == queueCounts{Dropped: 1} })
	eventually(t, "the peer forgotten", func() bool { return a.queue.len() == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := a.Stats().DialFailed; n != 4 {
		t.Fatalf("%d dials, want 4", n)
	}
}

// TestLeaveStopsDials: leaving a topic forgets its peers, those fed by
// AddPeer included: a refusing peer is dialled no more.
func TestLeaveStopsDials(t *testing.T) {
	a := newSwarm(t, Options{})
	shortQueue(a)
	start(t, a)
	a.AddPeer(foundAt(t, qtopic(1), freeAddr(t)))
	eventually(t, "a dial", func() bool { return a.Stats().DialFailed >= 1 })
	must(t, a.Leave(context.Background(), qtopic(1)))
	eventually(t, "the peer forgotten", func() bool { return a.queue.len() == 0 })
	n := a.Stats().DialFailed
	time.Sleep(150 * time.Millisecond)
	if m := a.Stats().DialFailed; m != n {
		t.Fatalf("%d dials after the leave", m-n)
	}
}

// TestAddPeerRedials: when a connection from the queue ends, the peer is
// dialled again after the first retry's pause.
func TestAddPeerRedials(t *testing.T) {
	rb := newRecorder(false)
	b := newSwarm(t, Options{Handler: rb.handle})
	start(t, b)
	a := newSwarm(t, Options{})
	shortQueue(a)
	start(t, a)
	a.AddPeer(foundAt(t, qtopic(1), addr(b)))
	first := rb.next(t)
	first.st.Close()
	begin := time.Now()
	second := rb.next(t)
	if took := time.Since(begin); took > time.Second {
		t.Fatalf("re-dialled after %v", took)
	}
	if second.c.ID == first.c.ID {
		t.Fatal("the same connection twice")
	}
	eventually(t, "one connection", func() bool { return len(a.Conns()) == 1 })
}

// TestDialLoopMaxPeers: fed more peers than it has places, the swarm
// dials no more than MaxPeers at a time.
func TestDialLoopMaxPeers(t *testing.T) {
	a := newSwarm(t, Options{MaxPeers: 2})
	for range 4 {
		p := newSwarm(t, Options{})
		start(t, p)
		a.AddPeer(foundAt(t, qtopic(1), addr(p)))
	}
	start(t, a)
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := a.admitted(); n > 2 {
			t.Fatalf("%d places taken, over MaxPeers 2", n)
		}
		time.Sleep(time.Millisecond)
	}
	if n, qc := len(a.Conns()), a.queue.counts(); n != 2 || qc.Active != 2 || qc.Ready != 2 {
		t.Fatalf("%d connections, queue %+v; want 2 connected, 2 waiting their turn", n, qc)
	}
}

// TestQueuedCrossing: two swarms fed each other dial each other and end
// with one connection; the side that closed the duplicate bans the
// address until the survivor ends, then both dial again and settle again.
func TestQueuedCrossing(t *testing.T) {
	ra, rb := newRecorder(true), newRecorder(true)
	a, b := newSwarm(t, Options{Handler: ra.handle}), newSwarm(t, Options{Handler: rb.handle})
	shortQueue(a)
	shortQueue(b)
	must(t, a.Listen())
	must(t, b.Listen())
	a.AddPeer(foundAt(t, qtopic(1), addr(b)))
	b.AddPeer(foundAt(t, qtopic(1), addr(a)))
	start(t, a)
	start(t, b)
	settled := func() bool {
		banned := a.queue.counts().Banned + b.queue.counts().Banned
		return len(a.Conns()) == 1 && len(b.Conns()) == 1 && a.admitted() == 1 && b.admitted() == 1 && banned == 1
	}
	eventually(t, "one connection each side, the duplicate's address banned", settled)
	ca := a.Conns()[0]
	for { // end A's survivor: close its handler's stream
		if sess := ra.next(t); sess.c.ID == ca.ID {
			sess.st.Close()
			break
		}
	}
	eventually(t, "a new connection, settled again", func() bool {
		return settled() && a.Conns()[0].ID != ca.ID
	})
	if n := a.Stats().DuplicatesClosed + b.Stats().DuplicatesClosed; n != 2 {
		t.Fatalf("%d duplicates closed, want one per crossing", n)
	}
}
