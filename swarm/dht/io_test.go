package dht

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestRetries: a request goes out 3 times on the 750 ms tick and fails
// with ErrTimeout after 8 ticks; a _holepunch also goes through the
// referrer on every send.
func TestRetries(t *testing.T) {
	w := newWireNode(t, Options{})
	errc := make(chan error, 1)
	go func() {
		errc <- w.Holepunch(context.Background(), specPeer, specTarget)
	}()
	waitFor(t, func() bool { return w.Status().Inflight == 1 })
	var toPeer, toRef int
	var rids []uint64
	for range 11 {
		for _, p := range w.take() {
			m, _ := DecodeMessage(p.b)
			rids = append(rids, m.RID)
			switch p.to {
			case specPeer:
				toPeer++
			case specTarget:
				toRef++
			}
		}
		w.clock.Advance(750 * time.Millisecond)
	}
	if err := <-errc; !errors.Is(err, ErrTimeout) {
		t.Fatalf("holepunch to a silent peer: %v", err)
	}
	if toPeer != 3 || toRef != 3 {
		t.Fatalf("sent %d to the peer and %d to the referrer, want 3 and 3", toPeer, toRef)
	}
	for _, r := range rids {
		if r != rids[0] {
			t.Fatalf("rids differ: %v", rids)
		}
	}
}

// TestHolepunchAnswerFromElsewhere: the answer to a holepunch comes from
// the punched peer, matched by rid.
func TestHolepunchAnswerFromElsewhere(t *testing.T) {
	w := newWireNode(t, Options{})
	errc := make(chan error, 1)
	go func() { errc <- w.Holepunch(context.Background(), specPeer, specTarget) }()
	waitFor(t, func() bool { return w.Status().Inflight == 1 })
	out := w.take()
	m, _ := DecodeMessage(out[0].b)
	w.HandleDatagramFrom((&Message{Version: 1, Type: TypeResponse, RID: m.RID, To: encodePeer(specAsker)}).Encode(), specPeer)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestThrottleAndBounds: beyond Concurrency in flight at RPS, requests
// queue; beyond Limits.Pending they fail; Close fails the rest.
func TestThrottleAndBounds(t *testing.T) {
	w := newWireNode(t, Options{Concurrency: 4, RPS: 4, Limits: Limits{Pending: 3}})
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			_, err := w.Ping(context.Background(), netip.AddrPortFrom(specPeer.Addr(), uint16(1000+i)))
			errs <- err
		}()
	}
	var overloaded int
	for range 3 {
		if err := <-errs; errors.Is(err, ErrOverloaded) {
			overloaded++
		}
	}
	if st := w.Status(); st.Inflight != 4 || st.Pending != 3 || overloaded != 3 {
		t.Fatalf("status %+v, %d overloaded", st, overloaded)
	}
	w.Close()
	for range 7 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("after close: %v", err)
		}
	}
}

// TestHugeCloserNodes: a node answering with a full datagram of nodes, all
// silent, does not make a lookup unbounded.
func TestHugeCloserNodes(t *testing.T) {
	liar := listenT(t, Options{})
	g := listenT(t, Options{Timing: fastTiming, Bootstrap: []string{addrOf(liar).String()}, RPS: 100000})
	// Replace the liar's handler: answer everything with 1700 nodes.
	var many []byte
	for i := range 1700 {
		var id ID
		id[0], id[1] = byte(i>>8), byte(i)
		many = appendNode(many, NodeInfo{ID: id, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(20000+i))})
	}
	liar.Close()
	fake := fakeResponder(t, addrOf(liar), func(m *Message, from netip.AddrPort) *Message {
		return &Message{Version: 1, Type: TypeResponse, RID: m.RID, ID: rep(9, 32), Token: rep(1, 32), To: encodePeer(from), CloserNodes: many}
	})
	defer fake()
	start := time.Now()
	_, err := g.Lookup(ctxT(t, 10*time.Second), [32]byte{1}, PeersOptions{}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > fastTiming.QueryTimeout+time.Second {
		t.Fatalf("lookup took %v", d)
	}
	if st := g.Status(); st.Nodes > 1 {
		t.Fatalf("closer nodes entered the table: %+v", st)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}
