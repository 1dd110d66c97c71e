package swarm

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/dht"
)

// dhtSeed is a persistent DHT node on 127.0.0.1 with no bootstrap: the
// local network every swarm of these tests joins.
func dhtSeed(t *testing.T) string {
	t.Helper()
	n, err := dht.Listen("127.0.0.1:0", dht.Options{Persistent: true})
	must(t, err)
	t.Cleanup(func() { n.Close() })
	return n.LocalAddr().String()
}

func dhtSwarm(t *testing.T, boot string) *Swarm {
	t.Helper()
	s := newSwarm(t, Options{DHT: &dht.Options{Bootstrap: []string{boot}}})
	start(t, s)
	return s
}

func waitBootstrapped(t *testing.T, s *Swarm) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !s.DHT().Status().Bootstrapped {
		if time.Now().After(deadline) {
			t.Fatalf("not bootstrapped: %+v", s.DHT().Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDiscoveryFindsAnnouncedSwarm(t *testing.T) {
	boot := dhtSeed(t)
	a, b := dhtSwarm(t, boot), dhtSwarm(t, boot)
	waitBootstrapped(t, a)
	waitBootstrapped(t, b)
	f := announcedAt(t, a, b)
	topic := f.Topic
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(a.Addr().Port))
	if f.Addr != want || f.Referrer.String() != boot {
		t.Fatalf("lookup found %+v, want only %s referred by %s", f, want, boot)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// A's own lookup never reports A.
	l := a.Discovery().Lookup(ctx, topic)
	for f := range l.Found() {
		t.Fatalf("A found itself: %+v", f)
	}
	must(t, a.Discovery().Unannounce(ctx, topic, 0))
	l = b.Discovery().Lookup(ctx, topic)
	for f := range l.Found() {
		t.Fatalf("found %+v after unannounce", f)
	}
}

func TestPortIsOneForTCPAndUDP(t *testing.T) {
	s := newSwarm(t, Options{})
	must(t, s.Listen())
	port := s.Addr().Port
	// The UDP side holds the same number: binding it again fails.
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err == nil {
		c.Close()
		t.Fatalf("udp port %d is free while the swarm listens on it", port)
	}
	if s.DHT() != nil || s.Discovery() != nil {
		t.Fatal("a DHT node without Options.DHT")
	}
}

func TestPortUDPTaken(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	s := newSwarm(t, Options{Port: port})
	err = s.Listen()
	if err == nil || !strings.Contains(err.Error(), "udp") {
		t.Fatalf("listen with the UDP port taken: %v", err)
	}
	// The TCP side was given back.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strings.TrimPrefix(c.LocalAddr().String(), "127.0.0.1:")))
	must(t, err)
	ln.Close()
}

// announcedAt announces a fresh topic from a and returns what b's lookup
// finds: a, and the node that holds its record.
func announcedAt(t *testing.T, a, b *Swarm) Found {
	t.Helper()
	var topic [32]byte
	rand.Read(topic[:])
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for range a.Discovery().Announce(ctx, topic, 0).Found() {
	}
	l := b.Discovery().Lookup(ctx, topic)
	var got []Found
	for f := range l.Found() {
		got = append(got, f)
	}
	must(t, l.Err())
	if len(got) != 1 {
		t.Fatalf("lookup found %+v, want a only", got)
	}
	return got[0]
}
