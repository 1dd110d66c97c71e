package dht

import (
	"net/netip"
	"testing"
)

func benchResponse() *Message {
	var nodes []byte
	for i := range K {
		nodes = appendNode(nodes, NodeInfo{ID: ID{byte(i)}, Addr: specPeer})
	}
	return &Message{Version: 1, Type: TypeResponse, RID: 300, To: encodePeer(specAsker), ID: rep(0x11, 32),
		CloserNodes: nodes, Token: rep(0x22, 32), Value: (&PeersOutput{Peers: rep(9, 6*32)}).Encode()}
}

func BenchmarkEncodeMessage(b *testing.B) {
	m := benchResponse()
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(m.Encode())))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendEncode(buf[:0])
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	enc := benchResponse().Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePeersOutput(b *testing.B) {
	enc := (&PeersOutput{Peers: rep(9, 6*128)}).Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := DecodePeersOutput(enc)
		if err != nil {
			b.Fatal(err)
		}
		decodePeerList(out.Peers)
	}
}

// BenchmarkHandlePing is one request through a node: decode, reply, encode.
func BenchmarkHandlePing(b *testing.B) {
	n := New(func([]byte, netip.AddrPort) error { return nil }, Options{Persistent: true, Limits: Limits{InboundPerAddr: 1 << 30}})
	defer n.Close()
	ping := unhex(b, "5801080110ac025206cb007105c2493a055f70696e67")
	b.ReportAllocs()
	for b.Loop() {
		n.HandleDatagramFrom(ping, specAsker)
	}
}
