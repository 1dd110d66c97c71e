//go:build cgo

package swarm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/dht"
)

// TestConnectUTPAfterRelayedHolepunch: A announces a topic on the seed
// and refuses TCP; B finds it there and connects. B's TCP attempt is
// refused, the holepunch relayed by the seed succeeds, and the uTP
// connection from B's port handshakes: both sides list it as "utp" and a
// byte-heavy exchange runs through the handlers' streams.
func TestConnectUTPAfterRelayedHolepunch(t *testing.T) {
	seed := dhtSeed(t)
	ra, rb := newRecorder(false), newRecorder(false)
	kpa, kpb := testKeyPair(t), testKeyPair(t)
	a := newSwarm(t, Options{KeyPair: kpa, Handler: ra.handle, NoTCP: true, DHT: testDHT(seed), HandshakeTimeout: 2 * time.Second})
	b := newSwarm(t, Options{KeyPair: kpb, Handler: rb.handle, DHT: testDHT(seed), ConnectTimeout: 5 * time.Second})
	start(t, a)
	start(t, b)
	waitBootstrapped(t, a)
	waitBootstrapped(t, b)
	if _, err := net.Dial("tcp", addr(a)); err == nil {
		t.Fatal("a swarm with NoTCP accepts TCP")
	}

	f := announcedAt(t, a, b)
	if f.Referrer.String() != seed || f.Addr != portOf(a) {
		t.Fatalf("found %+v, want %s referred by %s", f, portOf(a), seed)
	}
	c, err := b.Connect(context.Background(), f.Addr, f.Referrer)
	must(t, err)
	if c.Transport != TransportUTP {
		t.Fatalf("connected over %q, want utp", c.Transport)
	}
	sa, sb := ra.next(t), rb.next(t)
	wantConns(t, a, Conn{ID: 1, Transport: TransportUTP, RemotePublicKey: kpb.Public})
	wantConns(t, b, Conn{ID: 1, Transport: TransportUTP, Initiator: true, RemotePublicKey: kpa.Public,
		RemoteAddr: addr(a)})
	if st := b.Stats(); st.Dialled != 1 || st.UTP != 1 || st.TCP != 0 {
		t.Errorf("b's stats %+v", st)
	}
	if st := a.Stats(); st.Accepted != 1 || st.UTP != 1 || st.TCP != 0 {
		t.Errorf("a's stats %+v", st)
	}

	cha, chb := openPair(t, sa.st, sb.st)
	const total = 2 << 20
	took := transfer(t, chb, sa.st, total, 64<<10)
	back := transfer(t, cha, sb.st, total, 16<<10)
	t.Logf("2 MiB b→a in %v (%.1f MiB/s), a→b in 16 KiB messages in %v (%.1f MiB/s)",
		took, rate(total, took), back, rate(total, back))
}

// TestUTPTransfer8MiB: 8 MiB in 64 KiB blocks go over uTP (and, for
// comparison, over TCP) within the test's minute.
func TestUTPTransfer8MiB(t *testing.T) {
	const total = 8 << 20
	for _, transport := range []string{TransportUTP, TransportTCP} {
		t.Run(transport, func(t *testing.T) {
			seed := dhtSeed(t)
			ra, rb := newRecorder(false), newRecorder(false)
			a := newSwarm(t, Options{Handler: ra.handle, NoTCP: transport == TransportUTP, DHT: testDHT(seed)})
			b := newSwarm(t, Options{Handler: rb.handle, DHT: testDHT(seed), ConnectTimeout: 5 * time.Second})
			start(t, a)
			start(t, b)
			referrer := netip.AddrPort{}
			if transport == TransportUTP {
				referrer = netip.MustParseAddrPort(seed)
			}
			c, err := b.Connect(context.Background(), portOf(a), referrer)
			must(t, err)
			if c.Transport != transport {
				t.Fatalf("connected over %q", c.Transport)
			}
			sa, sb := ra.next(t), rb.next(t)
			_, chb := openPair(t, sa.st, sb.st)
			took := transfer(t, chb, sa.st, total, 64<<10)
			t.Logf("8 MiB over %s in %v: %.1f MiB/s", transport, took.Round(time.Millisecond), rate(total, took))
		})
	}
}

// TestConnectRaceKeepsOne: with TCP and uTP both open, Connect takes the
// first handshake (logged; TCP usually) and destroys the other attempt:
// each side is left with exactly one connection, of the same transport,
// and the loser's place is given back on both sides (the loser's
// half-open socket on a within HandshakeTimeout). The dialler's MaxPeers
// of 1 shows the attempts share one place.
func TestConnectRaceKeepsOne(t *testing.T) {
	seed := dhtSeed(t)
	kpa := testKeyPair(t)
	ra := newRecorder(true)
	a := newSwarm(t, Options{KeyPair: kpa, Handler: ra.handle, DHT: testDHT(seed), HandshakeTimeout: time.Second})
	start(t, a)
	referrer := netip.MustParseAddrPort(seed)
	wins := map[string]int{}
	const rounds = 4
	for range rounds {
		kpb := testKeyPair(t)
		b := newSwarm(t, Options{KeyPair: kpb, Handler: rejectAll, MaxPeers: 1, DHT: testDHT(seed),
			ConnectTimeout: 5 * time.Second})
		must(t, b.Listen())
		c, err := b.Connect(context.Background(), portOf(a), referrer)
		must(t, err)
		wins[c.Transport]++
		if conns := b.Conns(); len(conns) != 1 || b.admitted() != 1 || conns[0].Transport != c.Transport {
			t.Fatalf("b holds %d places, lists %+v", b.admitted(), conns)
		}
		if _, err := b.Connect(context.Background(), portOf(a), referrer); !errors.Is(err, ErrTooManyPeers) {
			t.Fatalf("a second Connect past MaxPeers 1: %v", err)
		}
		eventuallyf(t, func() string {
			conns := a.Conns()
			if a.admitted() == 1 && len(conns) == 1 && conns[0].RemotePublicKey == kpb.Public &&
				conns[0].Transport == c.Transport {
				return ""
			}
			return fmt.Sprintf("a to hold one place, with b's %s connection: %d admitted, "+
				"conns %+v, b's %+v, a's stats %+v", c.Transport, a.admitted(), conns, b.Conns(), a.Stats())
		})
		if st := b.Stats(); st.Dialled != 1 || st.TCP+st.UTP != 1 {
			t.Errorf("b's stats %+v", st)
		}
		must(t, b.Close())
		eventuallyf(t, func() string {
			if a.admitted() == 0 {
				return ""
			}
			return fmt.Sprintf("a to give the place back after b's %s connection: %d admitted, "+
				"conns %+v, stats %+v", c.Transport, a.admitted(), a.Conns(), a.Stats())
		})
	}
	// The losing attempt never completed its handshake on a (raceGate), so
	// a's duplicate rule had nothing to decide.
	if st := a.Stats(); st.Accepted != rounds || st.DuplicatesClosed != 0 {
		t.Errorf("a's stats %+v, want %d handshakes, no duplicate", st, rounds)
	}
	t.Logf("the race over %d rounds: %v", rounds, wins)
}

// TestUTPGarbageFlood: a flood of random datagrams on the port, a quarter
// of them dressed as uTP (SYNs included, which libutp accepts and the
// handshake timeout closes), kills neither the DHT node nor uTP.
func TestUTPGarbageFlood(t *testing.T) {
	seed := dhtSeed(t)
	a := newSwarm(t, Options{NoTCP: true, DHT: testDHT(seed), HandshakeTimeout: 300 * time.Millisecond, MaxPeers: 32})
	r := start(t, a)
	flood(t, portOf(a), 20000)
	r.alive()

	dhtAnswers(t, a, "after the flood")
	eventually(t, "the flood's connections to time out", func() bool { return a.admitted() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	b := newSwarm(t, Options{DHT: testDHT(seed), ConnectTimeout: 5 * time.Second})
	must(t, b.Listen())
	c, err := b.Connect(ctx, portOf(a), netip.MustParseAddrPort(seed))
	must(t, err)
	if c.Transport != TransportUTP {
		t.Fatalf("connected over %q", c.Transport)
	}
	st := a.Stats()
	if st.RejectedFull == 0 || st.HandshakeFailed == 0 {
		t.Errorf("the flood's SYNs were neither refused at the cap nor timed out: %+v", st)
	}
	t.Logf("after the flood: %+v", st)
}

// TestUTPAdmission: an accepted uTP connection takes a place like a TCP
// one: past MaxPeers it is closed at once and counted, and one that stays
// silent is closed after HandshakeTimeout.
func TestUTPAdmission(t *testing.T) {
	const timeout = 200 * time.Millisecond
	a := newSwarm(t, Options{NoTCP: true, MaxPeers: 1, HandshakeTimeout: timeout})
	start(t, a)
	raw := rawUTP(t)
	silent, err := raw.dial(context.Background(), portOf(a))
	must(t, err)
	defer silent.Close()
	eventually(t, "the silent connection's admission", func() bool { return a.admitted() == 1 })
	if second, err := raw.dial(context.Background(), portOf(a)); err == nil {
		defer second.Close() // libutp accepted it before the swarm closed it
	}
	eventually(t, "RejectedFull 1", func() bool { return a.Stats().RejectedFull == 1 })
	eventually(t, "HandshakeFailed 1", func() bool { return a.Stats().HandshakeFailed == 1 && a.admitted() == 0 })
	if st := a.Stats(); st.UTP != 0 || st.Accepted != 0 {
		t.Errorf("stats %+v", st)
	}
}

// rawUTP is a bare uTP socket on 127.0.0.1, closed at the end of the test.
func rawUTP(t *testing.T) *udpSocket {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	u, err := newUDPSocket(c, nil, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(u.close)
	return u
}

// flood sends n random datagrams of up to 1400 bytes to to, every fourth
// with a uTP version-1 header of a random type (SYN, data, state, …).
func flood(t *testing.T, to netip.AddrPort, n int) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer c.Close()
	buf := make([]byte, 1400)
	for i := range n {
		rand.Read(buf)
		size := int(buf[0])<<3%len(buf) + 1
		if i%4 == 0 {
			buf[0] = buf[1]%5<<4 | 1 // ST_DATA … ST_SYN, version 1
			buf[1] = 0               // no extension
			size = max(size, 20)     // a whole header
		}
		if _, err := c.WriteToUDPAddrPort(buf[:size], to); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // the flood may outrun the socket buffer, not the test
		}
	}
}

// TestDHTQueueDrops: while the DHT node is stalled the datagrams that are
// not uTP queue up to dhtQueueLen; those past it are dropped and counted,
// and none is lost before. Released, the node answers again.
func TestDHTQueueDrops(t *testing.T) {
	a := newSwarm(t, Options{DHT: &dht.Options{}})
	must(t, a.Listen())
	u := a.udpSide()
	entered, release := make(chan struct{}), make(chan struct{})
	var delivered atomic.Int64
	orig := *u.deliver.Load()
	stall := func(b []byte, from netip.AddrPort) {
		if delivered.Add(1) == 1 {
			close(entered)
			<-release
		}
		orig(b, from)
	}
	u.deliver.Store(&stall)

	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer c.Close()
	const extra = 200
	sent := 0
	send := func(k int) {
		for range k {
			_, err := c.WriteToUDPAddrPort([]byte("not utp, not a dht message either"), portOf(a))
			must(t, err)
			sent++
		}
	}
	send(1)
	<-entered
	for sent < 1+dhtQueueLen+extra {
		send(min(20, 1+dhtQueueLen+extra-sent)) // batches libutp's 100 slots hold
		eventually(t, "the batch to be queued or counted", func() bool {
			return 1+len(u.queue)+int(a.Stats().DHTDropped) == sent
		})
	}
	if got := a.Stats().DHTDropped; got != extra {
		t.Fatalf("DHTDropped = %d, want %d", got, extra)
	}
	close(release)
	eventually(t, "the queue to drain", func() bool { return delivered.Load() == 1+dhtQueueLen })
	start(t, a)
	dhtAnswers(t, a, "after the drops")
}

// TestConnectBothFail: with nothing on the port and a referrer that never
// answers, Connect fails at ConnectTimeout naming both attempts.
func TestConnectBothFail(t *testing.T) {
	dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer dead.Close()
	referrer := dead.LocalAddr().(*net.UDPAddr).AddrPort()
	const timeout = 300 * time.Millisecond
	s := newSwarm(t, Options{DHT: &dht.Options{}, ConnectTimeout: timeout})
	must(t, s.Listen())
	to := netip.MustParseAddrPort(freeAddr(t))
	begin := time.Now()
	_, err = s.Connect(context.Background(), to, referrer)
	took := time.Since(begin)
	if err == nil || !strings.Contains(err.Error(), "tcp: connection refused") ||
		!strings.Contains(err.Error(), "utp: holepunch via "+referrer.String()+": timed out after 300ms") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v", err)
	}
	t.Log(err)
	if took < timeout || took > timeout+time.Second {
		t.Errorf("took %v, want about %v", took, timeout)
	}
	if st := s.Stats(); st.DialFailed != 1 || s.admitted() != 0 {
		t.Errorf("stats %+v, %d admitted", st, s.admitted())
	}
}

// eventuallyf polls cond until it returns "", failing after waitLong with
// its last word.
func eventuallyf(t *testing.T, cond func() string) {
	t.Helper()
	msg := cond()
	for deadline := time.Now().Add(waitLong); msg != ""; msg = cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// dhtAnswers fails the test unless s's DHT node answers a ping.
func dhtAnswers(t *testing.T, s *Swarm, when string) {
	t.Helper()
	pinger, err := dht.Listen("127.0.0.1:0", dht.Options{})
	must(t, err)
	defer pinger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := pinger.Ping(ctx, portOf(s)); err != nil {
		t.Fatalf("the dht %s: %v", when, err)
	}
}
