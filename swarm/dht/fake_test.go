package dht

import (
	"net"
	"net/netip"
	"testing"
)

// fakeResponder serves addr with a hand-written handler; stop ends it.
func fakeResponder(t testing.TB, addr netip.AddrPort, handle func(*Message, netip.AddrPort) *Message) (stop func()) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			k, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m, err := DecodeMessage(buf[:k])
			if err != nil {
				continue
			}
			from, _ = Normalize(from)
			if res := handle(m, from); res != nil {
				conn.WriteToUDPAddrPort(res.Encode(), from)
			}
		}
	}()
	return func() {
		conn.Close()
		<-done
	}
}
