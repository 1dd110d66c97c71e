package swarm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/netip"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/dht"
	"github.com/hspd/hsp/swarm/wire"
)

// testDHT is the DHT configuration of the uTP tests' swarms: the seed as
// bootstrap and a short request tick, so that a lost datagram costs 100 ms.
func testDHT(seed string) *dht.Options {
	return &dht.Options{Bootstrap: []string{seed}, Timing: dht.Timing{IOTick: 100 * time.Millisecond}}
}

// portOf is s's port on 127.0.0.1.
func portOf(s *Swarm) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Addr().Port))
}

// openPair opens the same core on both streams, neither read yet, and
// waits for both channels to be ready.
func openPair(t *testing.T, a, b *wire.Stream) (cha, chb *wire.Channel) {
	t.Helper()
	key := testKey(7)
	cha, err := a.OpenChannel(key)
	must(t, err)
	chb, err = b.OpenChannel(key)
	must(t, err)
	recvKind(t, a, wire.EventChannelReady)
	recvKind(t, b, wire.EventChannelReady)
	return cha, chb
}

// transfer sends total bytes in Data messages of chunk bytes on from and
// reads them on to (whose channel is the peer of from); it checks them and
// returns how long it took.
func transfer(t *testing.T, from *wire.Channel, to *wire.Stream, total, chunk int) time.Duration {
	t.Helper()
	begin := time.Now()
	sent := make(chan [32]byte, 1)
	errc := make(chan error, 1)
	go func() {
		h := sha256.New()
		for i := 0; i*chunk < total; i++ {
			v := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a, byte(i * 7)}, min(chunk, total-i*chunk)/4)
			h.Write(v)
			if err := from.Send(wire.Data{Index: uint64(i), Value: v}); err != nil {
				errc <- err
				return
			}
		}
		sent <- [32]byte(h.Sum(nil))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := sha256.New()
	for got, next := 0, uint64(0); got < total; next++ {
		ev, err := to.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", got, total, err)
		}
		d, ok := ev.Message.(wire.Data)
		if ev.Kind != wire.EventMessage || !ok || d.Index != next {
			t.Fatalf("event %d: %+v, want Data %d", next, ev, next)
		}
		h.Write(d.Value)
		got += len(d.Value)
	}
	took := time.Since(begin)
	select {
	case err := <-errc:
		t.Fatal(err)
	case want := <-sent:
		if [32]byte(h.Sum(nil)) != want {
			t.Fatal("the bytes received are not the bytes sent")
		}
	}
	return took
}

// rate renders n bytes in d as MiB/s.
func rate(n int, d time.Duration) float64 {
	return float64(n) / (1 << 20) / d.Seconds()
}
