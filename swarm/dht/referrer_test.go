package dht

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestReferrerHolepunch: a walk's request to a node learnt from a
// referrer that stays unanswered for 500 ms also sends a _holepunch
// through the referrer, once, and again with every retry.
func TestReferrerHolepunch(t *testing.T) {
	boot := netip.MustParseAddrPort("10.0.0.9:1000")
	x := NodeInfo{ID: ID{0x42}, Addr: netip.MustParseAddrPort("10.0.0.8:2000")}
	w := newWireNode(t, Options{Bootstrap: []string{boot.String()}})
	s := w.Lookup(context.Background(), [32]byte{0x42}, PeersOptions{})
	var first *Message
	waitFor(t, func() bool {
		for _, p := range w.take() {
			if p.to == boot {
				first, _ = DecodeMessage(p.b)
			}
		}
		return first != nil
	})
	if first.Command != cmdPeers || first.Value == nil {
		t.Fatalf("walk request %+v", first)
	}
	res := &Message{Version: 1, Type: TypeResponse, RID: first.RID, ID: rep(0x77, 32), Token: rep(1, 32),
		To: encodePeer(specAsker), CloserNodes: appendNode(nil, x), Value: (&PeersOutput{Peers: encodePeer(specPeer)}).Encode()}
	w.HandleDatagramFrom(res.Encode(), boot)
	punches := func() (n int) {
		for _, p := range w.take() {
			m, _ := DecodeMessage(p.b)
			if p.to == boot && m.Command == cmdHolepunch {
				h, _ := DecodeHolepunch(m.Value)
				if !bytes.Equal(h.To, encodePeer(x.Addr)) {
					t.Fatalf("holepunch names %x", h.To)
				}
				n++
			}
		}
		return n
	}
	punches()
	w.clock.Advance(400 * time.Millisecond)
	if n := punches(); n != 0 {
		t.Fatalf("%d holepunches before 500 ms", n)
	}
	w.clock.Advance(200 * time.Millisecond)
	if n := punches(); n != 1 {
		t.Fatalf("%d holepunches at 500 ms, want 1", n)
	}
	w.clock.Advance(1700 * time.Millisecond) // the first retry, on the third 750 ms tick
	if n := punches(); n != 1 {
		t.Fatalf("%d holepunches with the retry, want 1", n)
	}
	w.clock.Advance(10 * time.Second)
	results, err := s.Wait()
	if err != nil || len(results) != 1 || results[0].Peers[0] != specPeer || results[0].Node.Addr != boot || results[0].To != specAsker {
		t.Fatalf("results %+v, %v", results, err)
	}
}
