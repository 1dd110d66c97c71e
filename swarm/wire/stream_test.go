package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// pipePair returns two streams over net.Pipe with the handshake done: a is
// the initiator. Both close at the end of the test.
func pipePair(t *testing.T, ca, cb Config) (a, b *Stream) {
	t.Helper()
	ca.Initiator, cb.Initiator = true, false
	ca.KeyPair, cb.KeyPair = testKeyPair(t), testKeyPair(t)
	x, y := net.Pipe()
	a, b = NewStream(x, ca), NewStream(y, cb)
	t.Cleanup(func() { a.Close(); b.Close() })
	handshakeBoth(t, a, b)
	return a, b
}

func testKeyPair(t testing.TB) KeyPair {
	kp, err := GenerateKeyPair(nil)
	must(t, err)
	return kp
}

func testKey(i byte) core.Key {
	var k core.Key
	for j := range k {
		k[j] = i + byte(j)
	}
	return k
}

func openChannel(t *testing.T, s *Stream, key core.Key) *Channel {
	t.Helper()
	ch, err := s.OpenChannel(key)
	must(t, err)
	return ch
}

func wantKind(t *testing.T, s *Stream, kind EventKind) Event {
	t.Helper()
	ev := recvEvent(t, s)
	if ev.Kind != kind {
		t.Fatalf("event %+v, want kind %d", ev, kind)
	}
	return ev
}

func wantErr(t *testing.T, s *Stream, target error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := s.Recv(ctx)
	if !errors.Is(err, target) {
		t.Fatalf("recv: %+v, %v; want %v", ev, err, target)
	}
}

func TestStreamIdentity(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	if a.RemotePublicKey() != b.PublicKey() || b.RemotePublicKey() != a.PublicKey() {
		t.Error("remote public keys do not match")
	}
	if !bytes.Equal(a.HandshakeHash(), b.HandshakeHash()) || len(a.HandshakeHash()) != 64 {
		t.Errorf("handshake hashes %x %x", a.HandshakeHash(), b.HandshakeHash())
	}
}

// TestManyChannels: several cores over one stream; each side numbers its
// own channels from 1 and the two numberings differ.
func TestManyChannels(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k1, k2, k3 := testKey(1), testKey(2), testKey(3)
	a1, a2, a3 := openChannel(t, a, k1), openChannel(t, a, k2), openChannel(t, a, k3)
	b3, b1 := openChannel(t, b, k3), openChannel(t, b, k1)
	if a1.localID != 1 || a2.localID != 2 || a3.localID != 3 || b3.localID != 1 || b1.localID != 2 {
		t.Fatalf("local ids %d %d %d / %d %d", a1.localID, a2.localID, a3.localID, b3.localID, b1.localID)
	}
	wantEvents(t, a, Event{Kind: EventChannelReady, Channel: a3}, Event{Kind: EventChannelReady, Channel: a1})
	wantEvents(t, b, Event{Kind: EventChannelReady, Channel: b1},
		Event{Kind: EventRemoteOpen, DiscoveryKey: k2.DiscoveryKey()}, Event{Kind: EventChannelReady, Channel: b3})

	data := Data{Index: 7, Value: []byte{}, Nodes: []core.Node{{Index: 14, Size: 3}}}
	have := Have{Start: 0, Length: Uint64(1 << 20), Bitfield: []byte{}}
	must(t, a1.Send(data))
	must(t, a3.Send(have))
	must(t, b1.Send(Data{Index: 7}))
	wantEvents(t, b, Event{Kind: EventMessage, Channel: b1, Message: data}, Event{Kind: EventMessage, Channel: b3, Message: have})
	wantEvents(t, a, Event{Kind: EventMessage, Channel: a1, Message: Data{Index: 7}})
}

// TestRemoteOpenAnswered: an Open for a core not open locally is reported;
// opening it then makes the channel ready on both sides.
func TestRemoteOpenAnswered(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(9)
	ca := openChannel(t, a, k)
	wantEvents(t, b, Event{Kind: EventRemoteOpen, DiscoveryKey: k.DiscoveryKey()})
	cb := openChannel(t, b, k)
	wantEvents(t, b, Event{Kind: EventChannelReady, Channel: cb})
	wantEvents(t, a, Event{Kind: EventChannelReady, Channel: ca})
	if again := openChannel(t, b, k); again != cb {
		t.Error("opening a core twice gave a second channel")
	}
}

// TestReject: Close{discoveryKey} closes the opener's channel, which answers
// with Close{} and can no longer send.
func TestReject(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(4)
	ca := openChannel(t, a, k)
	wantKind(t, b, EventRemoteOpen)
	must(t, b.Reject(k.DiscoveryKey()))
	wantEvents(t, a, Event{Kind: EventChannelClosed, Channel: ca})
	if err := ca.Send(Want{Start: 0}); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("send on a rejected channel: %v", err)
	}
	// The stream stays up, and the Close{} that a sent back is dropped.
	must(t, a.Send(Extension{ID: 1, Payload: []byte("still here")}))
	wantEvents(t, b, Event{Kind: EventMessage, Message: Extension{ID: 1, Payload: []byte("still here")}})
}

// TestChannelClose: a local Close reaches the remote, which closes its side
// too; the core can then be opened again.
func TestChannelClose(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(5)
	ca, cb := openChannel(t, a, k), openChannel(t, b, k)
	wantKind(t, a, EventChannelReady)
	wantKind(t, b, EventChannelReady)
	must(t, ca.Close())
	must(t, ca.Close()) // twice is fine
	wantEvents(t, b, Event{Kind: EventChannelClosed, Channel: cb})
	if err := cb.Send(Status{}); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("send after remote close: %v", err)
	}
	ca2 := openChannel(t, a, k)
	if ca2 == ca || ca2.localID != 1 {
		t.Errorf("reopened channel %p id %d", ca2, ca2.localID)
	}
	wantEvents(t, b, Event{Kind: EventRemoteOpen, DiscoveryKey: k.DiscoveryKey()})
}

// TestStreamLevelMessages: Options and extensions on channel 0 arrive with
// no channel; on a channel they arrive on it.
func TestStreamLevelMessages(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(6)
	ca, cb := openChannel(t, a, k), openChannel(t, b, k)
	wantKind(t, b, EventChannelReady)
	opts := Options{Extensions: []string{"a", "b"}, Ack: Bool(false)}
	must(t, a.Send(opts))
	must(t, ca.Send(opts))
	must(t, ca.Send(Extension{ID: 1, Payload: []byte("x")}))
	wantEvents(t, b, Event{Kind: EventMessage, Message: opts}, Event{Kind: EventMessage, Channel: cb, Message: opts},
		Event{Kind: EventMessage, Channel: cb, Message: Extension{ID: 1, Payload: []byte("x")}})
	if err := a.Send(Want{}); err == nil {
		t.Error("a Want on channel 0 was sent")
	}
	if err := ca.Send(Close{}); err == nil {
		t.Error("Channel.Send took a Close")
	}
}

// TestDroppedFrames: frames on ids the remote never opened, on channels not
// open locally, and of unassigned types are dropped, as in JS.
func TestDroppedFrames(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(7)
	ca := openChannel(t, a, k)
	must(t, ca.Send(Want{Start: 1})) // b has not opened k
	must(t, sendRaw(a, 5, Want{Start: 2}))
	must(t, sendRaw(a, 0, rawMessage{typ: 12, body: []byte{1, 2, 3}}))
	must(t, sendRaw(a, 0, Status{})) // not a stream-level type
	must(t, a.ping())
	must(t, a.Send(Extension{ID: 3}))
	wantEvents(t, b, Event{Kind: EventRemoteOpen, DiscoveryKey: k.DiscoveryKey()}, Event{Kind: EventMessage, Message: Extension{ID: 3, Payload: []byte{}}})
}

// marker sends a stream extension from a and receives it on b, so that b
// has handled everything a sent before.
func marker(t *testing.T, a, b *Stream) {
	t.Helper()
	m := Extension{ID: 99, Payload: []byte("marker")}
	must(t, a.Send(m))
	wantEvents(t, b, Event{Kind: EventMessage, Message: m})
}

// rawMessage is a frame of any type with any body, for tests.
type rawMessage struct {
	typ  Type
	body []byte
}

func (r rawMessage) Type() Type                 { return r.typ }
func (r rawMessage) appendBody(b []byte) []byte { return append(b, r.body...) }

func sendRaw(s *Stream, channel uint64, m Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.sendLocked(channel, m)
}

// openWithCapability opens key on s with capability c instead of the right
// one.
func openWithCapability(t *testing.T, s *Stream, key core.Key, c []byte) *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := &Channel{s: s, key: key, dk: key.DiscoveryKey(), localID: s.chans.allocLocal()}
	s.chans.byDK[ch.dk] = ch
	s.chans.local[ch.localID] = ch
	s.wmu.Lock()
	defer s.wmu.Unlock()
	must(t, s.sendLocked(ch.localID, Open{DiscoveryKey: ch.dk[:], Capability: c}))
	return ch
}

// TestWrongCapabilityOnOpenChannel: a bad capability for a core open
// locally ends the stream, as JS does.
func TestWrongCapabilityOnOpenChannel(t *testing.T) {
	for name, c := range map[string][]byte{"wrong": make([]byte, 32), "missing": nil} {
		t.Run(name, func(t *testing.T) {
			a, b := pipePair(t, Config{}, Config{})
			k := testKey(8)
			openChannel(t, b, k)
			openWithCapability(t, a, k, c)
			wantErr(t, b, ErrBadCapability)
			wantKind(t, a, EventChannelReady) // b's Open was fine
			wantErr(t, a, io.EOF)
		})
	}
}

// TestWrongCapabilityBeforeOpen: a bad capability seen when opening the
// core later rejects just that core; the stream stays up.
func TestWrongCapabilityBeforeOpen(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(10)
	ca := openWithCapability(t, a, k, make([]byte, 32))
	wantKind(t, b, EventRemoteOpen)
	if _, err := b.OpenChannel(k); !errors.Is(err, ErrBadCapability) {
		t.Fatalf("open: %v", err)
	}
	wantEvents(t, a, Event{Kind: EventChannelClosed, Channel: ca})
	marker(t, a, b) // b has seen the Close{} a sent back
	cb := openChannel(t, b, k)
	wantEvents(t, a, Event{Kind: EventRemoteOpen, DiscoveryKey: k.DiscoveryKey()})
	ca2 := openChannel(t, a, k)
	wantEvents(t, a, Event{Kind: EventChannelReady, Channel: ca2})
	wantEvents(t, b, Event{Kind: EventChannelReady, Channel: cb})
}

// TestMaxChannels: remote Opens past the limit are rejected, local ones fail.
func TestMaxChannels(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{MaxChannels: 2})
	ca := []*Channel{openChannel(t, a, testKey(1)), openChannel(t, a, testKey(2)), openChannel(t, a, testKey(3))}
	wantKind(t, b, EventRemoteOpen)
	wantKind(t, b, EventRemoteOpen)
	marker(t, a, b) // b has handled the third Open
	wantEvents(t, a, Event{Kind: EventChannelClosed, Channel: ca[2]})
	if _, err := b.OpenChannel(testKey(4)); !errors.Is(err, ErrTooManyChannels) {
		t.Errorf("open past the limit: %v", err)
	}
	openChannel(t, b, testKey(1)) // a known core still opens
}

// TestLargeData: a 3 MiB block crosses the stream intact.
func TestLargeData(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(11)
	ca, cb := openChannel(t, a, k), openChannel(t, b, k)
	wantKind(t, b, EventChannelReady)
	value := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	go ca.Send(Data{Index: 1, Value: value})
	wantEvents(t, b, Event{Kind: EventMessage, Channel: cb, Message: Data{Index: 1, Value: value}})
	if err := ca.Send(Data{Value: make([]byte, MaxBody)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized send: %v", err)
	}
	must(t, ca.Send(Have{Start: 2})) // the stream is still up
	wantEvents(t, b, Event{Kind: EventMessage, Channel: cb, Message: Have{Start: 2}})
}

// TestBackpressure: the reader stops near maxQueued when nobody calls
// Recv, and everything arrives once Recv runs.
func TestBackpressure(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k := testKey(12)
	ca, cb := openChannel(t, a, k), openChannel(t, b, k)
	wantKind(t, b, EventChannelReady)
	const n = 40
	sent := make(chan error, 1)
	go func() {
		var err error
		for i := range n {
			if err == nil {
				err = ca.Send(Data{Index: uint64(i), Value: make([]byte, 64<<10)})
			}
		}
		sent <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if q := b.queued.Load(); q > maxQueued+MaxBody {
		t.Errorf("%d bytes queued", q)
	}
	for i := range n {
		ev := wantKind(t, b, EventMessage)
		if d := ev.Message.(Data); d.Index != uint64(i) || ev.Channel != cb {
			t.Fatalf("message %d: %+v", i, ev)
		}
	}
	must(t, <-sent)
}

func TestCloseStream(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	must(t, a.Close())
	wantErr(t, a, ErrClosed)
	wantErr(t, b, io.EOF)
	if _, err := a.OpenChannel(testKey(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("open after close: %v", err)
	}
	if err := a.Send(Options{}); !errors.Is(err, ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
	<-a.Done()
	if !errors.Is(a.Err(), ErrClosed) {
		t.Errorf("Err: %v", a.Err())
	}
}

func TestNotReady(t *testing.T) {
	x, _ := net.Pipe()
	s := NewStream(x, Config{KeyPair: testKeyPair(t)})
	defer s.Close()
	if _, err := s.OpenChannel(testKey(1)); !errors.Is(err, ErrHandshake) {
		t.Errorf("open before the handshake: %v", err)
	}
	if _, err := s.Recv(context.Background()); !errors.Is(err, ErrHandshake) {
		t.Errorf("recv before the handshake: %v", err)
	}
}
