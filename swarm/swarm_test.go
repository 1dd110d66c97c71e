package swarm

import (
	"context"
	"errors"
	"net"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

func recvKind(t *testing.T, st *wire.Stream, kind wire.EventKind) wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ev, err := st.Recv(ctx)
	must(t, err)
	if ev.Kind != kind {
		t.Fatalf("event %+v, want kind %d", ev, kind)
	}
	return ev
}

// TestTwoSwarms: B dials A; each handler gets a stream whose remote key is
// the other's, a message on a channel goes through, and both list the one
// connection with the right direction.
func TestTwoSwarms(t *testing.T) {
	ra, rb := newRecorder(false), newRecorder(false)
	kpa, kpb := testKeyPair(t), testKeyPair(t)
	a := newSwarm(t, Options{KeyPair: kpa, Handler: ra.handle})
	b := newSwarm(t, Options{KeyPair: kpb, Handler: rb.handle})
	start(t, a)
	c, err := b.Dial(context.Background(), addr(a))
	must(t, err)
	sa, sb := ra.next(t), rb.next(t)
	if sa.st.RemotePublicKey() != kpb.Public || sb.st.RemotePublicKey() != kpa.Public {
		t.Fatal("a stream's remote key is not the other swarm's")
	}
	if sb.c != c || c.RemotePublicKey != kpa.Public || sa.c.RemotePublicKey != kpb.Public {
		t.Fatalf("conns %+v (dial) %+v (b's handler) %+v (a's handler)", c, sb.c, sa.c)
	}

	key := testKey(1)
	cha, err := sa.st.OpenChannel(key)
	must(t, err)
	chb, err := sb.st.OpenChannel(key)
	must(t, err)
	recvKind(t, sa.st, wire.EventChannelReady)
	recvKind(t, sb.st, wire.EventChannelReady)
	msg := wire.Have{Start: 3, Length: wire.Uint64(5)}
	must(t, chb.Send(msg))
	if ev := recvKind(t, sa.st, wire.EventMessage); ev.Channel != cha || !reflect.DeepEqual(ev.Message, msg) {
		t.Fatalf("a received %+v, want %+v on its channel", ev, msg)
	}

	wantConns(t, a, Conn{ID: 1, Transport: TransportTCP, Initiator: false, RemotePublicKey: kpb.Public})
	wantConns(t, b, Conn{ID: 1, Transport: TransportTCP, Initiator: true, RemotePublicKey: kpa.Public,
		RemoteAddr: addr(a)})
	if st := a.Stats(); st.Accepted != 1 || st.Dialled != 0 {
		t.Errorf("a's stats %+v", st)
	}
	if st := b.Stats(); st.Dialled != 1 || st.Accepted != 0 {
		t.Errorf("b's stats %+v", st)
	}
}

// wantConns checks that s lists exactly the one connection want, ignoring
// Since and, when want leaves it empty, RemoteAddr (only its host is
// checked).
func wantConns(t *testing.T, s *Swarm, want Conn) {
	t.Helper()
	conns := s.Conns()
	if len(conns) != 1 {
		t.Fatalf("Conns() = %+v, want one", conns)
	}
	got := conns[0]
	if got.Since.IsZero() || time.Since(got.Since) > time.Minute {
		t.Errorf("Since = %v", got.Since)
	}
	if host, _, _ := net.SplitHostPort(got.RemoteAddr); want.RemoteAddr == "" && host == "127.0.0.1" {
		want.RemoteAddr = got.RemoteAddr
	}
	got.Since = time.Time{}
	if got != want {
		t.Errorf("Conns() = %+v, want %+v", got, want)
	}
}

// TestListen: Port 0 gives a random port that Addr reports; a port in use
// fails Listen, and Run, with an error naming it.
func TestListen(t *testing.T) {
	a := newSwarm(t, Options{})
	if a.Addr() != nil {
		t.Fatal("Addr before Listen is not nil")
	}
	must(t, a.Listen())
	if got := a.Addr(); got == nil || got.Port == 0 || !got.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("Addr() = %v", got)
	}
	c, err := net.Dial("tcp", addr(a))
	must(t, err)
	c.Close()
	if err := a.Listen(); err == nil {
		t.Error("a second Listen succeeded")
	}

	b := newSwarm(t, Options{Port: a.Addr().Port})
	err = b.Listen()
	want := "127.0.0.1:" + strconv.Itoa(a.Addr().Port)
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a port in use: %v; want an error naming %s, wrapping EADDRINUSE", err, want)
	}
	t.Log(err)
	if err := b.Run(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run on a port in use: %v", err)
	}
}

// TestRunTwice: a second Run while one runs fails; Run after Close too.
func TestRunTwice(t *testing.T) {
	s := newSwarm(t, Options{})
	r := start(t, s)
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("a second Run succeeded")
	}
	must(t, r.stop())
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after the first returned: %v, want ErrClosed", err)
	}
}

// TestRunCancelClosesAll: when Run's ctx ends it returns nil having closed
// the accepted, the dialled and the half-open connections and waited for
// their handlers; no goroutine is left behind.
func TestRunCancelClosesAll(t *testing.T) {
	before := runtime.NumGoroutine()
	ra := newRecorder(true)
	a := newSwarm(t, Options{Handler: ra.handle})
	b, c := newSwarm(t, Options{}), newSwarm(t, Options{})
	r := start(t, a)
	rc := start(t, c)
	_, err := b.Dial(context.Background(), addr(a))
	must(t, err)
	accepted := ra.next(t)
	dialled, err := a.Dial(context.Background(), addr(c))
	must(t, err)
	ra.next(t)
	raw := rawDial(t, a)
	eventually(t, "the raw socket's admission", func() bool { return a.admitted() == 3 })

	must(t, r.stop())
	ra.waitEnded(t, accepted.c.ID, dialled.ID)
	waitClosed(t, raw)
	if conns := a.Conns(); len(conns) != 0 {
		t.Errorf("Conns() after Run = %+v", conns)
	}
	if _, err := a.Dial(context.Background(), addr(c)); !errors.Is(err, ErrClosed) {
		t.Errorf("Dial after Run returned: %v, want ErrClosed", err)
	}
	must(t, rc.stop())
	b.Close()
	raw.Close()
	eventually(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
