package dht

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "\n", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rep(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

var (
	specTarget = netip.MustParseAddrPort("203.0.113.5:49737")
	specAsker  = netip.MustParseAddrPort("10.0.0.1:49737")
	specPeer   = netip.MustParseAddrPort("198.51.100.9:50000")
)

// TestSpecBytes checks the encoders against the JS byte examples of
// hyperswarm2.md §1.3, §1.8 and §1.10.
func TestSpecBytes(t *testing.T) {
	hexs := func(b []byte) string { return hex.EncodeToString(b) }
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"peer", encodePeer(netip.MustParseAddrPort("10.0.0.1:49737")), "0a000001c249"},
		{"ping request", (&Message{Version: 1, Type: TypeQuery, RID: 300, To: encodePeer(specTarget), Command: cmdPing}).Encode(),
			"5801080110ac025206cb007105c2493a055f70696e67"},
		{"ping response", (&Message{Version: 1, Type: TypeResponse, RID: 300, To: encodePeer(specAsker),
			ID: rep(0x11, 32), Token: rep(0x22, 32), Value: encodePeer(specAsker)}).Encode(),
			"5801080310ac0252060a000001c2491a20" + hexs(rep(0x11, 32)) + "3220" + hexs(rep(0x22, 32)) + "4a060a000001c249"},
		{"holepunch to referrer", (&Message{Version: 1, Type: TypeQuery, RID: 301, To: encodePeer(specTarget), Command: cmdHolepunch,
			Value: (&Holepunch{To: encodePeer(specPeer)}).Encode()}).Encode(),
			"5801080110ad025206cb007105c2493a0a" + hexs([]byte("_holepunch")) + "4a081a06c6336409c350"},
		{"holepunch forwarded value", (&Holepunch{From: encodePeer(specAsker)}).Encode(), "12060a000001c249"},
		{"lookup value", (&PeersInput{}).Encode(), ""},
		{"announce value", PeersOptions{}.input(true).Encode(), "0800"},
		{"unannounce value", (&PeersInput{HasPort: true, Unannounce: true}).Encode(), "08001801"},
		{"announce with LAN address", PeersOptions{LocalAddress: netip.MustParseAddrPort("192.168.1.20:49737")}.input(true).Encode(),
			"08001206c0a80114c249"},
		{"peers reply", (&PeersOutput{Peers: encodePeer(specPeer)}).Encode(), "0a06c6336409c350"},
	}
	for _, c := range cases {
		if got := hexs(c.got); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// TestLookupValuePresent: a lookup's empty value is still sent (4a 00).
func TestLookupValuePresent(t *testing.T) {
	m := Message{Version: 1, Type: TypeQuery, RID: 1, Target: rep(1, 32), Command: cmdPeers, Value: (&PeersInput{}).Encode()}
	if !bytes.HasSuffix(m.Encode(), []byte{0x4a, 0x00}) {
		t.Fatalf("peers request without field 9: %x", m.Encode())
	}
	back, err := DecodeMessage(m.Encode())
	if err != nil || back.Value == nil || len(back.Value) != 0 {
		t.Fatalf("decoded value %v (nil %v), %v", back.Value, back.Value == nil, err)
	}
	if bytes.Contains((&Message{Type: TypeResponse, RID: 1}).Encode(), []byte{0x42}) {
		t.Fatal("empty error field written")
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := &Message{Version: 1, Type: TypeUpdate, RID: 65535, To: encodePeer(specPeer), ID: rep(3, 32), Target: rep(4, 32),
		CloserNodes: rep(5, 76), Token: rep(6, 32), Command: "peers", Error: "x", Value: []byte{}}
	back, err := DecodeMessage(m.Encode())
	must(t, err)
	if !bytes.Equal(back.Encode(), m.Encode()) {
		t.Fatalf("round trip:\n%x\n%x", back.Encode(), m.Encode())
	}
	// Any field order is accepted, unknown fields are skipped.
	b := appendUintField(nil, 2, 9)
	b = appendBytesField(b, 15, []byte("unknown"))
	b = append(appendTag(b, 14, wireFixed32), 1, 2, 3, 4)
	b = append(appendTag(b, 13, wireFixed64), 1, 2, 3, 4, 5, 6, 7, 8)
	b = appendUintField(b, 1, 3)
	back, err = DecodeMessage(b)
	if err != nil || back.RID != 9 || back.Type != TypeResponse || back.Version != 0 {
		t.Fatalf("reordered message: %+v, %v", back, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	ping := unhex(t, "5801080110ac025206cb007105c2493a055f70696e67")
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"empty":            {nil, ErrMissingField},
		"no rid":           {unhex(t, "58010801"), ErrMissingField},
		"no type":          {unhex(t, "580110ac02"), ErrMissingField},
		"bad type":         {unhex(t, "5801080410ac02"), ErrBadField},
		"truncated bytes":  {ping[:len(ping)-1], ErrTruncated},
		"truncated varint": {unhex(t, "5801080110ac"), ErrTruncated},
		"start group":      {append(append([]byte{}, ping...), 0x5b), ErrBadWireType},
		"end group":        {append(append([]byte{}, ping...), 0x5c), ErrBadWireType},
		"wire type 6":      {append(append([]byte{}, ping...), 0x5e), ErrBadWireType},
		"type as bytes":    {unhex(t, "0a0101 10 01"), ErrBadWireType},
		"id as varint":     {unhex(t, "080110011801"), ErrBadWireType},
		"field zero":       {unhex(t, "0001080110 01"), ErrBadField},
		"long varint":      {unhex(t, "08ffffffffffffffffff7f"), ErrBadField},
		"fixed32 short":    {unhex(t, "0801100165 0102"), ErrTruncated},
	}
	for name, c := range cases {
		if _, err := DecodeMessage(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
	for name, dec := range map[string]func([]byte) error{
		"holepunch":    func(b []byte) error { _, err := DecodeHolepunch(b); return err },
		"peers input":  func(b []byte) error { _, err := DecodePeersInput(b); return err },
		"peers output": func(b []byte) error { _, err := DecodePeersOutput(b); return err },
	} {
		for _, bad := range [][]byte{{0x13}, {0x14}, {0x12, 0x05, 0x01}, {0x0b}, {0x08}} {
			if dec(bad) == nil {
				t.Errorf("%s accepted %x", name, bad)
			}
		}
	}
}

func TestPeerLists(t *testing.T) {
	if _, ok := decodePeerList(unhex(t, "c6336409c350 000000000001")); ok {
		t.Error("0.0.0.0 accepted")
	}
	if _, ok := decodePeerList(unhex(t, "c6336409c350 0a0000010000")); ok {
		t.Error("port 0 accepted")
	}
	if _, ok := decodePeerList(unhex(t, "c6336409c3")); ok {
		t.Error("short list accepted")
	}
	got, ok := decodeLocalPeers([2]byte{192, 168}, unhex(t, "0114c249"))
	if !ok || got[0].String() != "192.168.1.20:49737" {
		t.Errorf("local peers %v %v", got, ok)
	}
	nodes := decodeNodes(appendNode(nil, NodeInfo{ID: ID(rep(7, 32)), Addr: specPeer}), 10)
	if len(nodes) != 1 || nodes[0].Addr != specPeer || nodes[0].ID != ID(rep(7, 32)) {
		t.Errorf("nodes %v", nodes)
	}
	if decodeNodes(rep(1, 37), 10) != nil {
		t.Error("37-byte node list decoded")
	}
}

func TestNormalize(t *testing.T) {
	a, ok := Normalize(netip.MustParseAddrPort("[::ffff:10.1.2.3]:80"))
	if !ok || a.String() != "10.1.2.3:80" {
		t.Errorf("mapped: %v %v", a, ok)
	}
	if _, ok := Normalize(netip.MustParseAddrPort("[2001:db8::1]:80")); ok {
		t.Error("IPv6 accepted")
	}
	if _, ok := Normalize(netip.MustParseAddrPort("10.1.2.3:0")); ok {
		t.Error("port 0 accepted")
	}
	for in, want := range map[string]string{"7000": "127.0.0.1:7000", ":7001": "127.0.0.1:7001", "example.org:49737": "example.org:49737"} {
		h, p, err := ParseBootstrap(in)
		if err != nil || netip.AddrPortFrom(netip.Addr{}, p).Port() == 0 || h+":"+itoa(p) != want {
			t.Errorf("ParseBootstrap(%q) = %s %d %v", in, h, p, err)
		}
	}
	if _, _, err := ParseBootstrap("host:0"); err == nil {
		t.Error("port 0 bootstrap accepted")
	}
}

func itoa(p uint16) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[len("0.0.0.0:"):]
}

func TestTally(t *testing.T) {
	a, b := encodePeer(specAsker), encodePeer(specPeer)
	a2 := encodePeer(netip.AddrPortFrom(specAsker.Addr(), 1))
	if _, ok := tally([][]byte{a, a}, false); ok {
		t.Error("two samples were enough")
	}
	if got, ok := tally([][]byte{a, a, a, b, b}, false); !ok || got != specAsker {
		t.Errorf("3 of 5: %v %v", got, ok)
	}
	if _, ok := tally([][]byte{a, a, a, b, b, b}, false); ok {
		t.Error("3 against 3 agreed")
	}
	if _, ok := tally([][]byte{a, a2, a, a2}, false); ok {
		t.Error("ports disagreeing passed the ip:port test")
	}
	if got, ok := tally([][]byte{a, a2, a, a2}, true); !ok || got.Addr() != specAsker.Addr() {
		t.Errorf("ip-only tally %v %v", got, ok)
	}
}
