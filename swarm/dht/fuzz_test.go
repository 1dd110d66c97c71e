package dht

import (
	"bytes"
	"net/netip"
	"testing"
)

// The fuzz targets check that no decoder panics, and that whatever decodes
// re-encodes to bytes that decode to the same encoding. Seed corpora are
// in testdata/fuzz/<target>/.

func FuzzDecodeMessage(f *testing.F) {
	f.Add(unhex(f, "5801080110ac025206cb007105c2493a055f70696e67"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		enc := m.Encode()
		m2, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !bytes.Equal(m2.Encode(), enc) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc, m2.Encode())
		}
	})
}

func FuzzDecodeHolepunch(f *testing.F) {
	f.Add(unhex(f, "1a06c6336409c350"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHolepunch(b)
		if err != nil {
			return
		}
		h2, err := DecodeHolepunch(h.Encode())
		if err != nil || !bytes.Equal(h2.Encode(), h.Encode()) {
			t.Fatalf("holepunch round trip: %v", err)
		}
	})
}

func FuzzDecodePeersInput(f *testing.F) {
	f.Add(unhex(f, "08001206c0a80114c249"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodePeersInput(b)
		if err != nil {
			return
		}
		in2, err := DecodePeersInput(in.Encode())
		if err != nil || !bytes.Equal(in2.Encode(), in.Encode()) {
			t.Fatalf("peers input round trip: %v", err)
		}
	})
}

func FuzzDecodePeersOutput(f *testing.F) {
	f.Add(unhex(f, "0a06c6336409c350"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodePeersOutput(b)
		if err != nil {
			return
		}
		out2, err := DecodePeersOutput(out.Encode())
		if err != nil || !bytes.Equal(out2.Encode(), out.Encode()) {
			t.Fatalf("peers output round trip: %v", err)
		}
		decodePeerList(out.Peers)
		decodeLocalPeers([2]byte{10, 0}, out.LocalPeers)
	})
}

func FuzzDecodeNodes(f *testing.F) {
	f.Add(appendNode(nil, NodeInfo{ID: ID{1}, Addr: specPeer}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range decodeNodes(b, 1000) {
			if !n.Addr.IsValid() || n.Addr.Port() == 0 {
				t.Fatalf("bad node address %v", n.Addr)
			}
		}
		decodePeer(b)
		decodePeerList(b)
	})
}

// FuzzHandleDatagram feeds a persistent node arbitrary datagrams: it must
// not panic, and everything it sends must decode.
func FuzzHandleDatagram(f *testing.F) {
	f.Add(unhex(f, "5801080110ac025206cb007105c2493a055f70696e67"))
	f.Add(qmsg(cmdPeers, rep(5, 32), []byte{}).Encode())
	f.Add(qmsg(cmdHolepunch, nil, (&Holepunch{To: encodePeer(specPeer)}).Encode()).Encode())
	w := newWireNode(f, Options{Persistent: true, Limits: Limits{InboundPerAddr: 1 << 30}})
	from := netip.MustParseAddrPort("10.9.8.7:6543")
	f.Fuzz(func(t *testing.T, b []byte) {
		w.HandleDatagramFrom(b, from)
		for _, p := range w.take() {
			if _, err := DecodeMessage(p.b); err != nil {
				t.Fatalf("node sent undecodable %x: %v", p.b, err)
			}
		}
	})
}
