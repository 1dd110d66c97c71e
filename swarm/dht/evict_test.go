package dht

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestEviction: a newcomer to a full bucket makes the node ping the oldest
// contacts; the first that fails to answer is replaced.
func TestEviction(t *testing.T) {
	self := ID{0x00}
	w := newWireNode(t, Options{ID: self, Persistent: true})
	must(t, w.Bootstrap(context.Background())) // empty list: a seed, bootstrapped
	from := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(1000+i))
	}
	idOf := func(i int) ID { return ID{0x80, byte(i)} } // all in bucket 0
	hello := func(i int) {
		m := qmsg(cmdPing, nil, nil)
		id := idOf(i)
		m.ID = id[:]
		w.HandleDatagramFrom(m.Encode(), from(i))
	}
	for i := range K {
		hello(i)
	}
	w.clock.Advance(5 * time.Second) // a table tick: the contacts are no longer "seen now"
	w.take()
	hello(K)
	pings := 0
	for _, p := range w.take() {
		if m, _ := DecodeMessage(p.b); m.Command == cmdPing && p.to == from(0) {
			pings++
		}
	}
	if pings != 1 || w.Status().Nodes != K {
		t.Fatalf("%d pings to the oldest, table %d", pings, w.Status().Nodes)
	}
	w.clock.Advance(8 * time.Second) // the ping times out
	nodes := w.Nodes()
	if len(nodes) != K || nodes[len(nodes)-1].ID != idOf(K) || w.table.get(idOf(0)) != nil {
		t.Fatalf("after the failed ping: %v", nodes)
	}
}
