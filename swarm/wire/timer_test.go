package wire

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestKeepAliveHoldsIdleStream: with keep-alives every 20 ms, a 300 ms
// timeout never fires on idle streams, and the keep-alives are single
// encrypted bytes.
func TestKeepAliveHoldsIdleStream(t *testing.T) {
	fast := Config{KeepAlive: 20 * time.Millisecond, Timeout: 300 * time.Millisecond}
	x, y := net.Pipe()
	rx := &recConn{Conn: x}
	fast.Initiator, fast.KeyPair = true, testKeyPair(t)
	a := NewStream(rx, fast)
	fast.Initiator, fast.KeyPair = false, testKeyPair(t)
	b := NewStream(y, fast)
	defer a.Close()
	defer b.Close()
	handshakeBoth(t, a, b)
	time.Sleep(time.Second)
	must(t, a.Send(Extension{ID: 1}))
	wantEvents(t, b, Event{Kind: EventMessage, Message: Extension{ID: 1, Payload: []byte{}}})
	pings := 0
	for _, c := range rx.written()[2:] {
		if len(c) == 1 {
			pings++
		}
	}
	if pings < 10 {
		t.Errorf("%d keep-alives in a second", pings)
	}
}

// TestTimeoutSilentPeer: a peer that sends nothing after the handshake is
// dropped after Timeout.
func TestTimeoutSilentPeer(t *testing.T) {
	a, _ := pipePair(t, Config{Timeout: 50 * time.Millisecond}, Config{KeepAlive: -1})
	start := time.Now()
	wantErr(t, a, ErrTimeout)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("timed out after %v", d)
	}
	<-a.Done()
}

// TestTimeoutDisabled: a negative Timeout never fires.
func TestTimeoutDisabled(t *testing.T) {
	a, _ := pipePair(t, Config{Timeout: -1}, Config{KeepAlive: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := a.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("recv: %v", err)
	}
	if a.Err() != nil {
		t.Errorf("stream ended: %v", a.Err())
	}
}

// TestHandshakeTimeout: the timeout covers the handshake.
func TestHandshakeTimeout(t *testing.T) {
	x, y := net.Pipe()
	defer y.Close()
	s := NewStream(x, Config{KeyPair: testKeyPair(t), Timeout: 50 * time.Millisecond})
	err := s.Handshake(context.Background())
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrTimeout) {
		t.Errorf("handshake: %v", err)
	}
	if !errors.Is(s.Err(), ErrTimeout) {
		t.Errorf("stream error: %v", s.Err())
	}
}

// TestHandshakeCanceled: ctx ends a handshake that waits for a peer.
func TestHandshakeCanceled(t *testing.T) {
	for _, initiator := range []bool{true, false} {
		x, y := net.Pipe()
		defer y.Close()
		s := NewStream(x, Config{Initiator: initiator, KeyPair: testKeyPair(t)})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err := s.Handshake(ctx)
		cancel()
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("initiator %v: %v", initiator, err)
		}
		if err := s.Handshake(context.Background()); !errors.Is(err, ErrHandshake) {
			t.Errorf("second handshake: %v", err)
		}
	}
}

// TestHandshakeBothInitiators: two initiators never finish; the timeout
// ends them.
func TestHandshakeBothInitiators(t *testing.T) {
	x, y := net.Pipe()
	cfg := Config{Initiator: true, KeyPair: testKeyPair(t), Timeout: 50 * time.Millisecond}
	a, b := NewStream(x, cfg), NewStream(y, cfg)
	errc := make(chan error, 1)
	go func() { errc <- b.Handshake(context.Background()) }()
	if err := a.Handshake(context.Background()); !errors.Is(err, ErrHandshake) {
		t.Errorf("a: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrHandshake) {
		t.Errorf("b: %v", err)
	}
}
