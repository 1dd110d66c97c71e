package swarm

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/hspd/hsp/swarm/dht"
)

// fastSTUN times the tests' STUN requests: a lost answer costs 20 ms, a
// silent server 140 ms; rounds do not repeat within a test.
var fastSTUN = STUNTiming{Retransmit: 20 * time.Millisecond, Tries: 3, Refresh: time.Hour}

// stunMode is how a test responder answers.
type stunMode int

const (
	stunAnswers   stunMode = iota // a proper Binding success
	stunWrongID                   // a success with another transaction ID
	stunOtherAddr                 // a proper success, sent from another socket
	stunSilent                    // nothing
)

// stunResponder is a tiny STUN server on 127.0.0.1 built on pion/stun's
// message API; it records the Binding requests it gets.
type stunResponder struct {
	conn, other *net.UDPConn
	mode        stunMode

	mu   sync.Mutex
	reqs []stunRequest
}

// stunRequest is a Binding request as a responder got it.
type stunRequest struct {
	id [stun.TransactionIDSize]byte
	at time.Time
}

// newSTUNResponder serves until the end of the test.
func newSTUNResponder(t *testing.T, mode stunMode) *stunResponder {
	t.Helper()
	r := &stunResponder{conn: listenLoopbackUDP(t), other: listenLoopbackUDP(t), mode: mode}
	go r.serve()
	return r
}

func listenLoopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func (r *stunResponder) addr() string { return r.conn.LocalAddr().String() }

func (r *stunResponder) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		var req stun.Message
		if stun.Decode(buf[:n], &req) != nil || req.Type != stun.BindingRequest {
			continue
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, stunRequest{req.TransactionID, time.Now()})
		r.mu.Unlock()
		r.answer(req.TransactionID, from)
	}
}

// answer sends the reply r's mode calls for.
func (r *stunResponder) answer(id [stun.TransactionIDSize]byte, to netip.AddrPort) {
	conn := r.conn
	switch r.mode {
	case stunSilent:
		return
	case stunWrongID:
		id[0] ^= 0xff
	case stunOtherAddr:
		conn = r.other
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(id), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: to.Addr().AsSlice(), Port: int(to.Port())}, stun.Fingerprint)
	if err == nil {
		conn.WriteToUDPAddrPort(resp.Raw, to)
	}
}

func (r *stunResponder) requests() []stunRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stunRequest(nil), r.reqs...)
}

// stunSwarm is a listening swarm asking servers with fastSTUN.
func stunSwarm(t *testing.T, servers ...string) *Swarm {
	t.Helper()
	s := newSwarm(t, Options{STUN: servers, STUNTiming: fastSTUN})
	must(t, s.Listen())
	return s
}

// stunRounds waits until every server's first round has ended.
func stunRounds(t *testing.T, s *Swarm) PublicAddress {
	t.Helper()
	eventually(t, "the stun rounds", func() bool {
		for _, r := range s.PublicAddress().STUN {
			if r.When.IsZero() {
				return false
			}
		}
		return true
	})
	return s.PublicAddress()
}

func TestSTUNOneServer(t *testing.T) {
	r := newSTUNResponder(t, stunAnswers)
	s := stunSwarm(t, r.addr())
	p := stunRounds(t, s)
	if p.Addr != portOf(s) || p.AddrFrom != SourceSTUN || p.Holepunchable || p.HolepunchableFrom != "" {
		t.Fatalf("PublicAddress() = %+v, want %s from stun, not holepunchable", p, portOf(s))
	}
	if len(p.STUN) != 1 || p.STUN[0].Server != r.addr() || p.STUN[0].Mapped != portOf(s) || p.STUN[0].Err != "" {
		t.Fatalf("STUN = %+v", p.STUN)
	}
	// Under load a resend may go before the first answer is in: its
	// answer comes late and is dropped, and only those are.
	eventually(t, "the late answers to be counted", func() bool {
		return s.Stats().STUNDropped == uint64(len(r.requests())-1)
	})
}

func TestSTUNTwoServersHolepunchable(t *testing.T) {
	a, b := newSTUNResponder(t, stunAnswers), newSTUNResponder(t, stunAnswers)
	s := stunSwarm(t, a.addr(), b.addr(), a.addr()) // a twice counts once
	p := stunRounds(t, s)
	if !p.Holepunchable || p.HolepunchableFrom != SourceSTUN || p.Addr != portOf(s) || len(p.STUN) != 2 {
		t.Fatalf("PublicAddress() = %+v, want holepunchable from stun", p)
	}
}

// TestSTUNIgnoresForgedAnswers: an answer with a transaction ID of no
// request, or from an address no request went to, is dropped and counted;
// the round fails as if nothing came.
func TestSTUNIgnoresForgedAnswers(t *testing.T) {
	for name, mode := range map[string]stunMode{"wrong-id": stunWrongID, "other-address": stunOtherAddr} {
		t.Run(name, func(t *testing.T) {
			r := newSTUNResponder(t, mode)
			s := stunSwarm(t, r.addr())
			p := stunRounds(t, s)
			if p.Addr.IsValid() || p.AddrFrom != "" || !strings.Contains(p.STUN[0].Err, "no answer") {
				t.Fatalf("PublicAddress() = %+v, want no address and a failed round", p)
			}
			eventually(t, "one drop per try", func() bool { return s.Stats().STUNDropped == uint64(fastSTUN.Tries) })
		})
	}
}

// TestSTUNSilentServer: a request is sent Tries times with the same
// transaction ID, then the round fails.
func TestSTUNSilentServer(t *testing.T) {
	r := newSTUNResponder(t, stunSilent)
	s := stunSwarm(t, r.addr())
	p := stunRounds(t, s)
	if p.Addr.IsValid() || !strings.Contains(p.STUN[0].Err, "no answer after 3 tries") {
		t.Fatalf("PublicAddress() = %+v", p)
	}
	reqs := r.requests()
	if len(reqs) != fastSTUN.Tries {
		t.Fatalf("%d requests, want %d", len(reqs), fastSTUN.Tries)
	}
	for i, req := range reqs {
		if req.id != reqs[0].id {
			t.Errorf("try %d has another transaction ID", i+1)
		}
	}
}

// TestSTUNRetransmitTiming: the sends of a request unanswered are
// Retransmit, then twice that, apart, and the round fails 7 Retransmit
// after the first (timed where they are sent, free of the receiver's
// scheduling).
func TestSTUNRetransmitTiming(t *testing.T) {
	var mu sync.Mutex
	var sent []time.Time
	c := newSTUNClient([]string{"127.0.0.1:9"}, fastSTUN, new(atomic.Uint64), slog.New(slog.DiscardHandler))
	c.start(func([]byte, netip.AddrPort) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, time.Now())
		return nil
	})
	defer c.stop()
	eventually(t, "the round", func() bool { return !c.snapshot()[0].res.When.IsZero() })
	res := c.snapshot()[0].res
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != fastSTUN.Tries || !strings.Contains(res.Err, "no answer") {
		t.Fatalf("%d sends, then %+v", len(sent), res)
	}
	for i, wait := 1, fastSTUN.Retransmit; i < len(sent); i, wait = i+1, 2*wait {
		if gap := sent[i].Sub(sent[i-1]); gap < wait {
			t.Errorf("send %d came %v after the one before, want ≥ %v", i+1, gap, wait)
		}
	}
	if took := res.When.Sub(sent[0]); took < 7*fastSTUN.Retransmit {
		t.Errorf("the round failed %v after the first send, want ≥ %v", took, 7*fastSTUN.Retransmit)
	}
}

// TestSTUNCloseWhileWaiting: Close ends a request waiting for its answer
// and the refresh pause at once, leaving no goroutine behind.
func TestSTUNCloseWhileWaiting(t *testing.T) {
	silent, quick := newSTUNResponder(t, stunSilent), newSTUNResponder(t, stunAnswers)
	before := runtime.NumGoroutine() // the responders' included
	s := New(Options{Host: "127.0.0.1", KeyPair: testKeyPair(t), STUN: []string{silent.addr(), quick.addr()},
		STUNTiming: STUNTiming{Retransmit: time.Hour, Refresh: time.Hour}})
	must(t, s.Listen())
	eventually(t, "the first request", func() bool { return len(silent.requests()) == 1 })
	eventually(t, "the quick answer", func() bool { return s.PublicAddress().Addr.IsValid() })
	begin := time.Now()
	must(t, s.Close())
	if took := time.Since(begin); took > time.Second {
		t.Fatalf("Close took %v", took)
	}
	eventually(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestSTUNNeverReachesDHT: with a DHT node on the socket, STUN datagrams,
// answers and strays alike, never reach it, and the DHT works on. With
// STUN off the strays are dropped too (those libutp lets through: it
// claims a Binding success as uTP, in cgo builds, when STUN is off).
func TestSTUNNeverReachesDHT(t *testing.T) {
	t.Run("stun-on", func(t *testing.T) {
		r := newSTUNResponder(t, stunAnswers)
		timing := fastSTUN
		timing.Refresh = 20 * time.Millisecond
		s, leaked := watchedDHTSwarm(t, Options{STUN: []string{r.addr()}, STUNTiming: timing})
		seen := len(r.requests())
		eventually(t, "more stun rounds", func() bool { return len(r.requests()) >= seen+3 })
		sent := sendStrays(t, portOf(s))
		eventually(t, "the strays to be counted", func() bool { return s.Stats().STUNDropped >= uint64(sent) })
		pingDHT(t, s)
		if n := leaked.Load(); n != 0 {
			t.Fatalf("%d stun datagrams reached the dht node", n)
		}
		if p := s.PublicAddress(); p.Addr != portOf(s) || p.AddrFrom != SourceSTUN {
			t.Fatalf("PublicAddress() = %+v", p)
		}
	})
	t.Run("stun-off", func(t *testing.T) {
		s, leaked := watchedDHTSwarm(t, Options{})
		sent := sendStrays(t, portOf(s))
		if utpAvailable {
			sent-- // the success, which libutp claims
		}
		eventually(t, "the strays to be counted", func() bool { return s.Stats().STUNDropped >= uint64(sent) })
		pingDHT(t, s)
		if n := leaked.Load(); n != 0 {
			t.Fatalf("%d stun datagrams reached the dht node", n)
		}
	})
}

// watchedDHTSwarm runs a swarm with opts and a DHT node bootstrapped from
// a local seed; leaked counts the STUN datagrams handed to the node.
func watchedDHTSwarm(t *testing.T, opts Options) (s *Swarm, leaked *atomic.Int64) {
	t.Helper()
	opts.DHT = testDHT(dhtSeed(t))
	s = newSwarm(t, opts)
	must(t, s.Listen())
	leaked = new(atomic.Int64)
	u := s.udpSide()
	orig := *u.deliver.Load()
	watch := func(b []byte, from netip.AddrPort) {
		if stun.IsMessage(b) {
			leaked.Add(1)
		}
		orig(b, from)
	}
	u.deliver.Store(&watch)
	start(t, s)
	waitBootstrapped(t, s)
	return s, leaked
}

// pingDHT fails unless s's DHT node answers a ping (as dhtAnswers does,
// which is cgo only).
func pingDHT(t *testing.T, s *Swarm) {
	t.Helper()
	pinger, err := dht.Listen("127.0.0.1:0", dht.Options{})
	must(t, err)
	defer pinger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := pinger.Ping(ctx, portOf(s)); err != nil {
		t.Fatalf("the dht after the stun datagrams: %v", err)
	}
}

// sendStrays sends to a STUN messages that answer no request of its: a
// success, an error response (which libutp does not claim) and a request.
func sendStrays(t *testing.T, to netip.AddrPort) int {
	t.Helper()
	c := listenLoopbackUDP(t)
	kinds := []stun.MessageType{stun.BindingSuccess, stun.BindingError, stun.BindingRequest}
	for _, kind := range kinds {
		m, err := stun.Build(stun.TransactionID, kind, stun.Fingerprint)
		must(t, err)
		_, err = c.WriteToUDPAddrPort(m.Raw, to)
		must(t, err)
	}
	return len(kinds)
}

// TestPublicAddressFromDHT: once three persistent DHT nodes agree on our
// address, PublicAddress reports the DHT's, not STUN's.
func TestPublicAddressFromDHT(t *testing.T) {
	r := newSTUNResponder(t, stunAnswers)
	seed := dhtSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for range 2 {
		n, err := dht.Listen("127.0.0.1:0", dht.Options{Persistent: true, Bootstrap: []string{seed}})
		must(t, err)
		t.Cleanup(func() { n.Close() })
		must(t, n.Bootstrap(ctx))
	}
	s := newSwarm(t, Options{DHT: testDHT(seed), STUN: []string{r.addr()}, STUNTiming: fastSTUN})
	start(t, s)
	waitBootstrapped(t, s)
	stunRounds(t, s)
	eventually(t, "the dht's tally", func() bool { return s.PublicAddress().AddrFrom == SourceDHT })
	p := s.PublicAddress()
	if p.Addr != portOf(s) || !p.Holepunchable || p.HolepunchableFrom != SourceDHT || p.STUN[0].Mapped != portOf(s) {
		t.Fatalf("PublicAddress() = %+v, want %s from the dht", p, portOf(s))
	}
}

func TestPublicAddressBeforeListen(t *testing.T) {
	s := newSwarm(t, Options{STUN: []string{"127.0.0.1:9"}})
	if p := s.PublicAddress(); p.Addr.IsValid() || p.STUN != nil {
		t.Fatalf("PublicAddress() before Listen = %+v", p)
	}
	must(t, s.Listen())
	if p := s.PublicAddress(); len(p.STUN) != 1 || p.STUN[0].Server != "127.0.0.1:9" {
		t.Fatalf("PublicAddress() after Listen = %+v", p)
	}
}

// TestSTUNBadServer: a server that does not resolve fails its round with
// the reason.
func TestSTUNBadServer(t *testing.T) {
	for _, name := range []string{"127.0.0.1", "127.0.0.1:0", "127.0.0.1:http-alt-nonexistent", "[::1]:3478"} {
		s := stunSwarm(t, name)
		p := stunRounds(t, s)
		if !strings.Contains(p.STUN[0].Err, "resolve stun server "+name) {
			t.Errorf("%s: %+v", name, p.STUN[0])
		}
	}
}

func TestPublicAddressCombine(t *testing.T) {
	t0 := time.Now()
	a, b := netip.MustParseAddrPort("198.51.100.1:1000"), netip.MustParseAddrPort("198.51.100.2:2000")
	srv1, srv2 := netip.MustParseAddrPort("192.0.2.1:3478"), netip.MustParseAddrPort("192.0.2.2:3478")
	answer := func(server netip.AddrPort, mapped netip.AddrPort, when time.Time) stunSeen {
		return stunSeen{res: STUNResult{Server: server.String(), Mapped: mapped, When: when}, server: server}
	}
	failed := stunSeen{res: STUNResult{Server: "x:1", Err: "no answer", When: t0.Add(time.Hour)}}
	for _, tc := range []struct {
		name    string
		dhtAddr netip.AddrPort
		dhtHP   bool
		seen    []stunSeen
		addr    netip.AddrPort
		from    string
		hpBy    string
	}{
		{name: "nothing"},
		{name: "dht only", dhtAddr: a, addr: a, from: SourceDHT},
		{name: "dht holepunchable", dhtAddr: a, dhtHP: true, addr: a, from: SourceDHT, hpBy: SourceDHT},
		{name: "dht before stun", dhtAddr: a, seen: []stunSeen{answer(srv1, b, t0)}, addr: a, from: SourceDHT},
		{name: "stun only", seen: []stunSeen{answer(srv1, b, t0), failed}, addr: b, from: SourceSTUN},
		{name: "latest stun answer", seen: []stunSeen{answer(srv1, a, t0), answer(srv2, b, t0.Add(time.Second))},
			addr: b, from: SourceSTUN},
		{name: "two servers agree", seen: []stunSeen{answer(srv1, b, t0), answer(srv2, b, t0)},
			addr: b, from: SourceSTUN, hpBy: SourceSTUN},
		{name: "one server twice", seen: []stunSeen{answer(srv1, b, t0), answer(srv1, b, t0)},
			addr: b, from: SourceSTUN},
		{name: "dht holepunchable wins", dhtHP: true, seen: []stunSeen{answer(srv1, b, t0), answer(srv2, b, t0)},
			addr: b, from: SourceSTUN, hpBy: SourceDHT},
		{name: "failed rounds", seen: []stunSeen{failed, failed}},
	} {
		p := combine(tc.dhtAddr, tc.dhtHP, tc.seen)
		if p.Addr != tc.addr || p.AddrFrom != tc.from || p.Holepunchable != (tc.hpBy != "") ||
			p.HolepunchableFrom != tc.hpBy || len(p.STUN) != len(tc.seen) {
			t.Errorf("%s: %+v", tc.name, p)
		}
	}
}

// TestSTUNAnswers: what the client makes of each kind of datagram from
// the server of its outstanding request.
func TestSTUNAnswers(t *testing.T) {
	v4 := []byte{192, 0, 2, 1}
	want := netip.MustParseAddrPort("192.0.2.1:4000")
	ok := fuzzAnswer(t, stun.BindingSuccess, &stun.XORMappedAddress{IP: v4, Port: 4000})
	badFP := append([]byte(nil), ok...)
	badFP[len(badFP)-1] ^= 1
	for _, tc := range []struct {
		name   string
		b      []byte
		mapped netip.AddrPort
		err    string // "" with mapped: accepted; "" without: dropped
	}{
		{"xor-mapped", ok, want, ""},
		{"mapped-only", fuzzAnswer(t, stun.BindingSuccess, &stun.MappedAddress{IP: v4, Port: 4000}), want, ""},
		{"error-response", fuzzAnswer(t, stun.BindingError, stun.CodeUnauthorized), netip.AddrPort{}, "binding error response: 401"},
		{"no-address", fuzzAnswer(t, stun.BindingSuccess), netip.AddrPort{}, "read mapped address"},
		{"bad-fingerprint", badFP, netip.AddrPort{}, ""},
		{"request", fuzzAnswer(t, stun.BindingRequest), netip.AddrPort{}, ""},
		{"truncated", ok[:26], netip.AddrPort{}, ""},
	} {
		c := newSTUNClient([]string{fuzzServer.String()}, STUNTiming{}, new(atomic.Uint64), slog.New(slog.DiscardHandler))
		txn := c.expect(c.servers[0], fuzzTxnID, fuzzServer)
		if !c.take(tc.b, fuzzServer) {
			t.Fatalf("%s: not taken as STUN", tc.name)
		}
		var a stunAnswer
		select {
		case a = <-txn.answer:
		default:
			if tc.mapped.IsValid() || tc.err != "" || c.dropped.Load() != 1 {
				t.Errorf("%s: dropped (%d counted)", tc.name, c.dropped.Load())
			}
			continue
		}
		if a.mapped != tc.mapped || (a.err == nil) != (tc.err == "") || (a.err != nil && !strings.Contains(a.err.Error(), tc.err)) {
			t.Errorf("%s: answer %v, %v; want %v, %q", tc.name, a.mapped, a.err, tc.mapped, tc.err)
		}
	}
}
