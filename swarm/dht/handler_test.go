package dht

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

var askerID = ID(rep(0x33, 32))

func qmsg(cmd string, target, value []byte) *Message {
	return &Message{Version: 1, Type: TypeQuery, RID: 300, To: encodePeer(specTarget), Command: cmd, Target: target, Value: value}
}

// TestPingReply checks a persistent node's answer against §1.10's shape.
func TestPingReply(t *testing.T) {
	w := newWireNode(t, Options{ID: ID(rep(0x11, 32)), Persistent: true})
	ping := unhex(t, "5801080110ac025206cb007105c2493a055f70696e67")
	w.HandleDatagramFrom(ping, specAsker)
	out := w.take()
	if len(out) != 1 || out[0].to != specAsker {
		t.Fatalf("sent %v", out)
	}
	b := out[0].b
	head := unhex(t, "5801080310ac0252060a000001c2491a20")
	if !bytes.HasPrefix(b, append(head, rep(0x11, 32)...)) || !bytes.HasSuffix(b, unhex(t, "4a060a000001c249")) || len(b) != len(head)+32+2+32+8 {
		t.Fatalf("ping response %x", b)
	}
	// An ephemeral node answers without its id.
	e := newWireNode(t, Options{})
	if res := e.exchange(t, qmsg(cmdPing, nil, nil), specAsker); len(res) != 1 || res[0].ID != nil || len(res[0].Token) != 32 {
		t.Fatalf("ephemeral ping reply %+v", res)
	}
	// A ping naming another node id gets no answer.
	if res := w.exchange(t, qmsg(cmdPing, nil, rep(9, 32)), specAsker); len(res) != 0 {
		t.Fatalf("ping for another id answered: %+v", res)
	}
}

func TestRequestsEnterTable(t *testing.T) {
	w := newWireNode(t, Options{Persistent: true})
	m := qmsg(cmdFindNode, rep(0, 32), nil)
	m.ID = askerID[:]
	res := w.exchange(t, m, specAsker)
	if len(res) != 1 || len(res[0].CloserNodes) != nodeLen { // the asker itself, as in JS
		t.Fatalf("find_node reply %+v", res)
	}
	if st := w.Status(); st.Nodes != 1 {
		t.Fatalf("table after a request with an id: %+v", st)
	}
	m2 := qmsg(cmdFindNode, rep(0, 32), nil)
	m2.ID = rep(0x44, 32)
	m2.Version = 0 // an old sender counts as ephemeral
	w.exchange(t, m2, specPeer)
	if res := w.exchange(t, qmsg(cmdFindNode, rep(0, 32), nil), specPeer); len(res) != 1 || len(res[0].CloserNodes) != nodeLen {
		t.Fatalf("closer nodes %+v", res)
	}
	if res := w.exchange(t, qmsg(cmdFindNode, nil, nil), specPeer); len(res) != 0 {
		t.Fatal("find_node without target answered")
	}
}

// TestBadInput: garbage, bad ids, bad tokens and unknown commands.
func TestBadInput(t *testing.T) {
	w := newWireNode(t, Options{Persistent: true})
	for _, b := range [][]byte{nil, {0xff}, rep(0x5b, 100), unhex(t, "580108011001 1a03010203")} {
		w.HandleDatagramFrom(b, specAsker)
	}
	if out := w.take(); len(out) != 0 || w.Status().Nodes != 0 {
		t.Fatalf("answered garbage: %v", out)
	}
	topic := rep(5, 32)
	upd := &Message{Version: 1, Type: TypeUpdate, RID: 1, Command: cmdPeers, Target: topic, Value: []byte{}}
	if res := w.exchange(t, upd, specAsker); len(res) != 0 {
		t.Fatal("UPDATE without token answered")
	}
	upd.Token = rep(1, 32)
	if res := w.exchange(t, upd, specAsker); len(res) != 0 || w.Status().Records != 0 {
		t.Fatal("UPDATE with a bad token answered or stored")
	}
	res := w.exchange(t, qmsg("mutable-store", topic, []byte{}), specAsker)
	if len(res) != 1 || res[0].Error != "Unsupported command" || res[0].Token != nil {
		t.Fatalf("unknown command reply %+v", res)
	}
	if res := w.exchange(t, qmsg("whatever", nil, nil), specAsker); len(res) != 0 {
		t.Fatal("command without target answered")
	}
	// A peers request without value is an empty lookup, not a crash.
	if res := w.exchange(t, qmsg(cmdPeers, topic, nil), specAsker); len(res) != 1 || res[0].Error != "" {
		t.Fatalf("peers without value: %+v", res)
	}
	if res := w.exchange(t, qmsg(cmdPeers, topic, []byte{0x0b}), specAsker); len(res) != 0 {
		t.Fatal("peers with a bad value answered")
	}
}

// TestFlood: one address gets at most InboundPerAddr answers a second.
func TestFlood(t *testing.T) {
	w := newWireNode(t, Options{Limits: Limits{InboundPerAddr: 100}})
	ping := qmsg(cmdPing, nil, nil).Encode()
	for range 1000 {
		w.HandleDatagramFrom(ping, specAsker)
	}
	if n := len(w.take()); n != 100 {
		t.Fatalf("%d answers to a flood, want 100", n)
	}
	w.HandleDatagramFrom(ping, specPeer)
	if n := len(w.take()); n != 1 {
		t.Fatal("another address was throttled too")
	}
	w.clock.Advance(time.Second)
	w.HandleDatagramFrom(ping, specAsker)
	if n := len(w.take()); n != 1 {
		t.Fatal("the window did not reset")
	}
}

// tokenFor gets a token for `from` by querying w.
func tokenFor(t *testing.T, w *wireNode, from netip.AddrPort, topic []byte) []byte {
	res := w.exchange(t, qmsg(cmdPeers, topic, []byte{}), from)
	if len(res) != 1 || len(res[0].Token) != 32 {
		t.Fatalf("no token: %+v", res)
	}
	return res[0].Token
}

func announce(t *testing.T, w *wireNode, from netip.AddrPort, topic []byte, in *PeersInput) []*Message {
	m := &Message{Version: 1, Type: TypeUpdate, RID: 2, Command: cmdPeers, Target: topic,
		Token: tokenFor(t, w, from, topic), Value: in.Encode()}
	return w.exchange(t, m, from)
}

func lookupPeers(t *testing.T, w *wireNode, from netip.AddrPort, topic []byte) []netip.AddrPort {
	res := w.exchange(t, qmsg(cmdPeers, topic, []byte{}), from)
	out, err := DecodePeersOutput(res[0].Value)
	must(t, err)
	peers, _ := decodePeerList(out.Peers)
	return peers
}

// TestPeersRecords: announce, self-filtering, unannounce, expiry after
// 8–16 minutes, and the per-topic bound.
func TestPeersRecords(t *testing.T) {
	w := newWireNode(t, Options{Persistent: true, Limits: Limits{RecordsPerTopic: 4}})
	topic := rep(5, 32)
	if res := announce(t, w, specAsker, topic, &PeersInput{HasPort: true}); len(res) != 1 || res[0].Error != "" || res[0].Value != nil {
		t.Fatalf("announce reply %+v", res)
	}
	if got := lookupPeers(t, w, specPeer, topic); len(got) != 1 || got[0] != specAsker {
		t.Fatalf("lookup %v", got)
	}
	if got := lookupPeers(t, w, specAsker, topic); len(got) != 0 {
		t.Fatalf("the announcer sees itself: %v", got)
	}
	announce(t, w, specAsker, topic, &PeersInput{HasPort: true, Unannounce: true})
	if got := lookupPeers(t, w, specPeer, topic); len(got) != 0 {
		t.Fatalf("after unannounce %v", got)
	}
	announce(t, w, specAsker, topic, &PeersInput{HasPort: true, Port: 4000})
	w.clock.Advance(8*time.Minute + time.Second) // fresh → stale
	if got := lookupPeers(t, w, specPeer, topic); len(got) != 1 || got[0].Port() != 4000 {
		t.Fatalf("stale record gone early: %v", got)
	}
	w.clock.Advance(8 * time.Minute)
	if got := lookupPeers(t, w, specPeer, topic); len(got) != 0 {
		t.Fatalf("record outlived 16 minutes: %v", got)
	}
	for p := range uint32(10) {
		announce(t, w, specAsker, topic, &PeersInput{HasPort: true, Port: 5000 + p})
	}
	if got := lookupPeers(t, w, specPeer, topic); len(got) != 4 {
		t.Fatalf("%d records for one topic, bound is 4", len(got))
	}
}

func TestHolepunchHandling(t *testing.T) {
	w := newWireNode(t, Options{}) // ephemeral nodes relay and answer too
	relay := qmsg(cmdHolepunch, nil, (&Holepunch{To: encodePeer(specPeer)}).Encode())
	w.take()
	w.HandleDatagramFrom(relay.Encode(), specAsker)
	out := w.take()
	if len(out) != 1 || out[0].to != specPeer {
		t.Fatalf("relay sent %v", out)
	}
	fwd, _ := DecodeMessage(out[0].b)
	h, _ := DecodeHolepunch(fwd.Value)
	if fwd.RID != 300 || fwd.Type != TypeQuery || !bytes.Equal(h.From, encodePeer(specAsker)) || h.To != nil || !bytes.Equal(fwd.To, encodePeer(specPeer)) {
		t.Fatalf("forwarded %+v %+v", fwd, h)
	}
	// The punched node answers the `from` address.
	w.HandleDatagramFrom(fwd.Encode(), specTarget)
	out = w.take()
	if len(out) != 1 || out[0].to != specAsker {
		t.Fatalf("answer went to %v", out)
	}
	// No value: the direct half, ignored. To = sender: not relayed.
	if len(w.exchange(t, qmsg(cmdHolepunch, nil, nil), specAsker)) != 0 {
		t.Fatal("valueless holepunch answered")
	}
	if len(w.exchange(t, qmsg(cmdHolepunch, nil, (&Holepunch{To: encodePeer(specAsker)}).Encode()), specAsker)) != 0 {
		t.Fatal("holepunch relayed back to its sender")
	}
}
