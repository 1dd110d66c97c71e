package dht

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// fastTiming shrinks every period so that Go-only networks run quickly.
var fastTiming = Timing{
	IOTick:        40 * time.Millisecond,
	TableTick:     200 * time.Millisecond,
	FastHolepunch: 30 * time.Millisecond,
	QueryTimeout:  3 * time.Second,
}

func listenT(t testing.TB, opts Options) *Node {
	t.Helper()
	n, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func addrOf(n *Node) netip.AddrPort {
	a, _ := Normalize(netip.MustParseAddrPort(n.LocalAddr().String()))
	return a
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
