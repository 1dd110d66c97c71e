package wire

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// sideConfig replays one side of handshake.json: its static key, and its
// nonce then ephemeral secret as the randomness.
func sideConfig(t testing.TB, side handshakeSide, initiator bool) Config {
	rnd := io.MultiReader(bytes.NewReader(unhex(t, side.PayloadNonce)), bytes.NewReader(unhex(t, side.EphemeralSecretKey)))
	return Config{
		Initiator: initiator,
		KeyPair:   SeedKeyPair(key32(t, side.StaticSeed)),
		Rand:      rnd,
		KeepAlive: -1,
	}
}

// handshakeBoth runs both handshakes concurrently.
func handshakeBoth(t testing.TB, a, b *Stream) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- b.Handshake(context.Background()) }()
	if err := a.Handshake(context.Background()); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("handshake: %v", err)
	}
}

func checkSession(t *testing.T, s *Stream, side handshakeSide) {
	t.Helper()
	got := map[string]string{
		"tx":     hex.EncodeToString(s.ses.tx[:]),
		"rx":     hex.EncodeToString(s.ses.rx[:]),
		"hash":   hex.EncodeToString(s.HandshakeHash()),
		"remote": hex.EncodeToString(s.ses.remoteStatic[:]),
	}
	want := map[string]string{"tx": side.SplitTxKey, "rx": side.SplitRxKey, "hash": side.HandshakeHash, "remote": side.RemoteStaticPublicKey}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("session %v\nwant %v", got, want)
	}
}

func checkChunks(t *testing.T, who string, got [][]byte, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s wrote %d chunks, want %d", who, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if hex.EncodeToString(got[i]) != want[i] {
			t.Errorf("%s chunk %d: %x\nwant %s", who, i, got[i], want[i])
		}
	}
}

func recvEvent(t testing.TB, s *Stream) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return ev
}

// TestHandshakeVector: two Go peers with handshake.json's keys, nonces and
// ephemerals write exactly the JS bytes: the three handshake messages, then
// the encrypted Open, Want, stream Options, stream extension and keep-alive
// frames; and they read each other's messages back.
func TestHandshakeVector(t *testing.T) {
	var v handshakeVector
	loadVector(t, "handshake.json", &v)
	a, b := net.Pipe()
	ra, rb := &recConn{Conn: a}, &recConn{Conn: b}
	si := NewStream(ra, sideConfig(t, v.Initiator, true))
	sr := NewStream(rb, sideConfig(t, v.Responder, false))
	defer si.Close()
	defer sr.Close()
	handshakeBoth(t, si, sr)
	checkSession(t, si, v.Initiator)
	checkSession(t, sr, v.Responder)

	feed := core.Key(key32(t, v.FeedKey))
	ci, err := si.OpenChannel(feed)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := sr.OpenChannel(feed)
	if err != nil {
		t.Fatal(err)
	}
	must(t, ci.Send(Want{Start: 0, Length: Uint64(1048576)}))
	must(t, sr.Send(Options{Extensions: []string{"an-extension"}}))
	must(t, sr.Send(Extension{ID: 0, Payload: []byte("ping!")}))
	must(t, si.ping())

	wantEvents(t, sr, Event{Kind: EventChannelReady, Channel: cr},
		Event{Kind: EventMessage, Channel: cr, Message: Want{Start: 0, Length: Uint64(1048576)}})
	wantEvents(t, si, Event{Kind: EventChannelReady, Channel: ci},
		Event{Kind: EventMessage, Message: Options{Extensions: []string{"an-extension"}}},
		Event{Kind: EventMessage, Message: Extension{ID: 0, Payload: []byte("ping!")}})
	checkChunks(t, "initiator", ra.written(), v.Wire["initiator"])
	checkChunks(t, "responder", rb.written(), v.Wire["responder"])
}

// wantEvents receives len(want) events and compares them; the discovery
// key is filled in from the channel.
func wantEvents(t *testing.T, s *Stream, want ...Event) {
	t.Helper()
	for i, w := range want {
		if w.Channel != nil {
			w.DiscoveryKey = w.Channel.DiscoveryKey()
		}
		if got := recvEvent(t, s); !reflect.DeepEqual(got, w) {
			t.Errorf("event %d: %+v\nwant %+v", i, got, w)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeReplay feeds one Go peer everything the JS peer of the other
// role wrote, in a single read: bytes buffered behind the last handshake
// message must decrypt as frames.
func TestHandshakeReplay(t *testing.T) {
	var v handshakeVector
	loadVector(t, "handshake.json", &v)
	feed := core.Key(key32(t, v.FeedKey))
	for _, initiator := range []bool{true, false} {
		side, other, me := v.Responder, "initiator", "responder"
		if initiator {
			side, other, me = v.Initiator, "responder", "initiator"
		}
		t.Run(me, func(t *testing.T) {
			var in [][]byte
			for _, c := range v.Wire[other] {
				in = append(in, unhex(t, c))
			}
			conn := newReplayConn(in)
			s := NewStream(conn, sideConfig(t, side, initiator))
			must(t, s.Handshake(context.Background()))
			ch, err := s.OpenChannel(feed)
			must(t, err)
			want := []Event{{Kind: EventChannelReady, Channel: ch}}
			if initiator {
				want = append(want, Event{Kind: EventMessage, Message: Options{Extensions: []string{"an-extension"}}},
					Event{Kind: EventMessage, Message: Extension{ID: 0, Payload: []byte("ping!")}})
			} else {
				want = append(want, Event{Kind: EventMessage, Channel: ch, Message: Want{Start: 0, Length: Uint64(1048576)}})
			}
			wantEvents(t, s, want...)
			if _, err := s.Recv(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("at the end: %v, want EOF", err)
			}
			n := 2 // msg2 and Open
			if initiator {
				n = 3 // msg1, msg3 and Open
			}
			checkChunks(t, me, conn.written(), v.Wire[me][:n])
		})
	}
}
