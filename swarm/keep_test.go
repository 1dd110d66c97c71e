package swarm

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestKeepUnreachable: the first attempt's error comes back, nothing is
// kept and no further dial happens.
func TestKeepUnreachable(t *testing.T) {
	s := newSwarm(t, Options{RedialMin: time.Millisecond, RedialMax: time.Millisecond})
	k, _, err := s.Keep(context.Background(), freeAddr(t))
	if k != nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Keep of a closed port: %v, %v", k, err)
	}
	time.Sleep(50 * time.Millisecond)
	if st := s.Stats(); st.DialFailed != 1 {
		t.Errorf("%d dials failed, want the first only", st.DialFailed)
	}
}

// TestKeepRedials: a kept connection closed from the far side is dialled
// again within the backoff; Stop closes it and no dial follows.
func TestKeepRedials(t *testing.T) {
	ra := newRecorder(true)
	a := newSwarm(t, Options{Handler: ra.handle})
	start(t, a)
	b := newSwarm(t, Options{RedialMin: 10 * time.Millisecond, RedialMax: 40 * time.Millisecond})
	k, c, err := b.Keep(context.Background(), addr(a))
	must(t, err)
	if k.Addr() != addr(a) {
		t.Errorf("Addr() = %q", k.Addr())
	}
	if kc, ok := k.Conn(); !ok || kc != c {
		t.Errorf("Conn() = %+v, %v; want %+v", kc, ok, c)
	}
	first := ra.next(t)
	first.st.Close()
	begin := time.Now()
	second := ra.next(t)
	if took := time.Since(begin); took > time.Second {
		t.Errorf("the re-dial came after %v", took)
	}
	eventually(t, "Conn() to name the new connection", func() bool {
		kc, ok := k.Conn()
		return ok && kc.ID != c.ID
	})

	k.Stop()
	ra.waitEnded(t, second.c.ID)
	if _, ok := k.Conn(); ok {
		t.Error("Conn() after Stop reports a connection")
	}
	ra.none(t, 150*time.Millisecond)
	eventually(t, "b's connection to end", func() bool { return len(b.Conns()) == 0 })
	if st := b.Stats(); st.Dialled != 2 {
		t.Errorf("%d dials, want 2", st.Dialled)
	}
	k.Stop() // again: nothing happens
}

// TestKeepBacksOff: while the address refuses, re-dials back off
// exponentially; once it listens again the keeper connects.
func TestKeepBacksOff(t *testing.T) {
	a := newSwarm(t, Options{})
	ra := start(t, a)
	b := newSwarm(t, Options{RedialMin: 5 * time.Millisecond, RedialMax: 20 * time.Millisecond})
	k, _, err := b.Keep(context.Background(), addr(a))
	must(t, err)
	defer k.Stop()
	port := a.Addr().Port
	must(t, ra.stop())

	time.Sleep(200 * time.Millisecond)
	// 5+10+20+20+… ms of pauses: about 11 dials in 200 ms, not hundreds.
	if n := b.Stats().DialFailed; n < 3 || n > 20 {
		t.Errorf("%d re-dials in 200 ms with a 5..20 ms backoff", n)
	}
	rc := newRecorder(true)
	c := newSwarm(t, Options{Port: port, Handler: rc.handle})
	start(t, c)
	rc.next(t)
	if _, ok := k.Conn(); !ok {
		eventually(t, "the kept connection back", func() bool { _, ok := k.Conn(); return ok })
	}
}

// TestCloseEndsKeepers: Close stops every keeper with its connection.
func TestCloseEndsKeepers(t *testing.T) {
	ra := newRecorder(true)
	a := newSwarm(t, Options{Handler: ra.handle})
	start(t, a)
	b := newSwarm(t, Options{RedialMin: time.Millisecond})
	k, c, err := b.Keep(context.Background(), addr(a))
	must(t, err)
	ra.next(t)
	must(t, b.Close())
	select {
	case <-k.done:
	default:
		t.Fatal("the keeper outlived Close")
	}
	ra.none(t, 50*time.Millisecond)
	if _, ok := k.Conn(); ok || len(b.Conns()) != 0 {
		t.Errorf("connection %d still up after Close", c.ID)
	}
	k.Stop()
}

// TestKeepAlreadyConnected: keeping a peer we are already connected to,
// whose key makes our new dial the duplicate, follows the live connection
// and leaves it open on Stop.
func TestKeepAlreadyConnected(t *testing.T) {
	kpA, kpB := testKeyPair(t), testKeyPair(t)
	for bytes.Compare(kpA.Public[:], kpB.Public[:]) < 0 { // A's dial to B must lose
		kpA = testKeyPair(t)
	}
	ra := newRecorder(true)
	a := newSwarm(t, Options{KeyPair: kpA})
	start(t, a)
	b := newSwarm(t, Options{KeyPair: kpB, Handler: ra.handle})
	start(t, b)
	live, err := b.Dial(context.Background(), addr(a))
	must(t, err)
	eventually(t, "A to see B's connection", func() bool { return len(a.Conns()) == 1 })

	k, c, err := a.Keep(context.Background(), addr(b))
	must(t, err)
	if c.RemotePublicKey != kpB.Public || len(a.Conns()) != 1 || len(b.Conns()) != 1 {
		t.Fatalf("kept %+v; A has %d connections, B %d", c, len(a.Conns()), len(b.Conns()))
	}
	k.Stop()
	if got := b.Conns(); len(got) != 1 || got[0].ID != live.ID {
		t.Fatalf("after Stop B has %+v, want its live connection %d", got, live.ID)
	}
}
