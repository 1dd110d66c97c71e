package replicate

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// scripted is a hand-driven peer for the hostile tests: a bare wire.Stream
// whose events arrive on a channel, over a connection that can stop
// reading and can corrupt the next frame it writes.
type scripted struct {
	s      *wire.Stream
	conn   *rigConn
	events chan wire.Event
	victim chan error // the victim's Run result for this connection
}

// rigConn is a net.Conn that can hold reads back and XOR the first bytes of
// its next write (frames are written one per Write, and the transport
// cipher is a plain XOR keystream, so this flips the same clear bits).
type rigConn struct {
	net.Conn
	mu    sync.Mutex
	flip  []byte
	gate  chan struct{} // reads wait while it is open (non-nil)
	gated bool
}

func (c *rigConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	g := c.gate
	c.mu.Unlock()
	if g != nil {
		<-g
	}
	return c.Conn.Read(p)
}

func (c *rigConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.flip != nil {
		p = append([]byte(nil), p...)
		for i := range min(len(p), len(c.flip)) {
			p[i] ^= c.flip[i]
		}
		c.flip = nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// stopReading makes the scripted peer read nothing more.
func (c *rigConn) stopReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gate == nil {
		c.gate = make(chan struct{})
	}
}

// corruptNext turns the clear frame plain, about to be written, into want.
func (c *rigConn) corruptNext(plain, want []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flip = make([]byte, len(want))
	for i := range want {
		c.flip[i] = plain[i] ^ want[i]
	}
}

// newScripted connects a scripted peer to victim (which runs as the
// responder) over net.Pipe.
func newScripted(t *testing.T, victim *Replicator) *scripted {
	t.Helper()
	ca, cb := net.Pipe()
	rig := &rigConn{Conn: ca}
	a, b := handshake(t, rig, cb)
	sc := &scripted{s: a, conn: rig, events: make(chan wire.Event, 4096), victim: make(chan error, 1)}
	go func() { sc.victim <- victim.Run(context.Background(), b) }()
	go func() {
		defer close(sc.events)
		for {
			ev, err := a.Recv(context.Background())
			if err != nil {
				return
			}
			sc.events <- ev
		}
	}()
	t.Cleanup(func() {
		rig.mu.Lock()
		if rig.gate != nil {
			close(rig.gate)
			rig.gate = nil
		}
		rig.mu.Unlock()
		a.Close()
		b.Close()
	})
	return sc
}

// open opens key and waits until the channel is ready.
func (sc *scripted) open(t *testing.T, key core.Key) *wire.Channel {
	t.Helper()
	ch, err := sc.s.OpenChannel(key)
	if err != nil {
		t.Fatal(err)
	}
	sc.next(t, func(ev wire.Event) bool { return ev.Kind == wire.EventChannelReady && ev.Channel == ch })
	return ch
}

// next returns the first event match accepts, skipping others.
func (sc *scripted) next(t *testing.T, match func(wire.Event) bool) wire.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-sc.events:
			if !ok {
				t.Fatal("scripted peer: stream ended")
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("scripted peer: no matching event in 5 s")
		}
	}
}

func isMsg(t wire.Type) func(wire.Event) bool {
	return func(ev wire.Event) bool {
		return ev.Kind == wire.EventMessage && ev.Message != nil && ev.Message.Type() == t
	}
}

// cut waits for the victim to cut the scripted peer off for reason.
func (sc *scripted) cut(t *testing.T, reason error) {
	t.Helper()
	select {
	case err := <-sc.victim:
		if !isCut(err, reason) {
			t.Fatalf("victim's Run ended with %v, want a cut for %v", err, reason)
		}
		t.Logf("cut off: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatalf("victim did not cut the peer off for %v", reason)
	}
}

// alive fails if the victim ended the connection.
func (sc *scripted) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-sc.victim:
		t.Fatalf("victim ended the connection: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
}

// serveBad answers the victim's Wants and Requests for w's blocks like an
// uploader, with each Data passed through tamper.
func (sc *scripted) serveBad(t *testing.T, ch *wire.Channel, w *core.Hypercore, tamper func(*wire.Data)) {
	ctx := context.Background()
	ch.Send(wire.Status{Uploading: wire.Bool(true), Downloading: wire.Bool(false)})
	go func() {
		for ev := range sc.events {
			switch m := ev.Message.(type) {
			case wire.Want:
				ch.Send(wire.Have{Start: 0, Length: wire.Uint64(wantSpan), Bitfield: w.HaveBitfield(0, wantSpan)})
			case wire.Request:
				p, err := w.Proof(ctx, m.Index, 0, false, nil)
				if err != nil {
					return
				}
				v, _ := w.Get(ctx, m.Index, core.GetOptions{NoWait: true})
				d := wire.Data{Index: m.Index, Value: v, Nodes: p.Nodes, Signature: p.Signature}
				tamper(&d)
				ch.Send(d)
			}
		}
	}()
}
