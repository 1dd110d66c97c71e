package wire

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/hspd/hsp/core"
)

type transcript struct {
	CoreKey string `json:"coreKey"`
	Reader  transcriptSide
	Writer  transcriptSide
	Events  []struct {
		From    string          `json:"from"`
		Channel uint64          `json:"channel"`
		Type    Type            `json:"type"`
		Message json.RawMessage `json:"message"`
		Frame   string          `json:"frame"`
	} `json:"events"`
	Wire map[string][]string `json:"wire"`
}

type transcriptSide struct {
	Role                    string
	NoiseStaticSecretKey    string
	NoiseStaticPublicKey    string
	NoiseEphemeralSecretKey string
	PayloadNonce            string
	SplitTxKey              string
}

var transcripts = []string{"transcript-sparse-live.json", "transcript-full.json"}

// sentMessage is one event of a transcript as a Go message.
type sentMessage struct {
	channel uint64
	msg     Message
	frame   []byte
}

// sent returns what side (reader or writer) sent, in order.
func (tr *transcript) sent(t *testing.T, side string) []sentMessage {
	var out []sentMessage
	for _, e := range tr.Events {
		if e.From != side {
			continue
		}
		m, err := fromJS(e.Type, e.Message)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentMessage{e.Channel, m, unhex(t, e.Frame)})
	}
	return out
}

func (tr *transcript) chunks(t *testing.T, side string) [][]byte {
	var out [][]byte
	for _, c := range tr.Wire[side] {
		out = append(out, unhex(t, c))
	}
	return out
}

// TestTranscriptsDecode decrypts every byte each side of both recorded
// sessions wrote and checks the frames against the recorded messages:
// decoding gives the message, encoding it gives the frame back.
func TestTranscriptsDecode(t *testing.T) {
	for _, name := range transcripts {
		var tr transcript
		loadVector(t, name, &tr)
		for _, side := range []string{"reader", "writer"} {
			t.Run(name+"/"+side, func(t *testing.T) {
				want := tr.sent(t, side)
				got := decryptSide(t, &tr, side)
				if len(got) != len(want) {
					t.Fatalf("%d frames, want %d", len(got), len(want))
				}
				for i, w := range want {
					checkTranscriptFrame(t, i, got[i], w)
				}
			})
		}
	}
}

// decryptSide skips a side's handshake messages (two for the initiator,
// one for the responder) and reads its frames with its tx key and nonce.
func decryptSide(t *testing.T, tr *transcript, side string) []frame {
	s := tr.Reader
	if side == "writer" {
		s = tr.Writer
	}
	r := newFrameReader(bytes.NewReader(bytes.Join(tr.chunks(t, side), nil)))
	for range map[string]int{"initiator": 2, "responder": 1}[s.Role] {
		if _, err := r.message(65535); err != nil {
			t.Fatal(err)
		}
	}
	key, nonce := key32(t, s.SplitTxKey), [24]byte(unhex(t, s.PayloadNonce))
	r.setCipher(newXSalsa20(&key, &nonce))
	var frames []frame
	for {
		fr, err := r.next()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr)
	}
}

func checkTranscriptFrame(t *testing.T, i int, fr frame, w sentMessage) {
	t.Helper()
	m, err := Decode(fr.typ, fr.body)
	if err != nil {
		t.Fatalf("frame %d: %v", i, err)
	}
	if fr.channel != w.channel || !reflect.DeepEqual(m, w.msg) {
		t.Errorf("frame %d: channel %d %#v\nwant channel %d %#v", i, fr.channel, m, w.channel, w.msg)
	}
	for _, mm := range []Message{m, w.msg} {
		if b, _ := AppendFrame(nil, w.channel, mm); !bytes.Equal(b, w.frame) {
			t.Errorf("frame %d encodes as %x\nwant %x", i, b, w.frame)
		}
	}
}

// TestTranscriptsReplay runs a Go Stream in each role of both sessions
// against the bytes the JS peer of the other role wrote: the handshake
// completes with the recorded keys, the Go Open equals the JS one, and Recv
// delivers the other side's messages in order.
func TestTranscriptsReplay(t *testing.T) {
	for _, name := range transcripts {
		var tr transcript
		loadVector(t, name, &tr)
		for _, me := range []string{"reader", "writer"} {
			t.Run(name+"/"+me, func(t *testing.T) { replaySide(t, &tr, me) })
		}
	}
}

func replaySide(t *testing.T, tr *transcript, me string) {
	side, other := tr.Reader, "writer"
	if me == "writer" {
		side, other = tr.Writer, "reader"
	}
	initiator := side.Role == "initiator"
	secret := key32(t, side.NoiseStaticSecretKey)
	rnd := io.MultiReader(bytes.NewReader(unhex(t, side.PayloadNonce)), bytes.NewReader(unhex(t, side.NoiseEphemeralSecretKey)))
	conn := newReplayConn(tr.chunks(t, other))
	s := NewStream(conn, Config{Initiator: initiator, KeyPair: KeyPair{Public: publicKey(&secret), Secret: secret}, Rand: rnd, KeepAlive: -1})
	must(t, s.Handshake(context.Background()))
	ch, err := s.OpenChannel(core.Key(key32(t, tr.CoreKey)))
	must(t, err)

	for i, w := range tr.sent(t, other) {
		ev := recvEvent(t, s)
		want := Event{Kind: EventMessage, Channel: ch, DiscoveryKey: ch.DiscoveryKey(), Message: w.msg}
		switch w.msg.(type) {
		case Open:
			want = Event{Kind: EventChannelReady, Channel: ch, DiscoveryKey: ch.DiscoveryKey()}
		case Close:
			want = Event{Kind: EventChannelClosed, Channel: ch, DiscoveryKey: ch.DiscoveryKey()}
		}
		if !reflect.DeepEqual(ev, want) {
			t.Fatalf("event %d: %+v\nwant %+v", i, ev, want)
		}
	}
	if _, err := s.Recv(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v, want EOF", err)
	}
	n := map[bool]int{true: 3, false: 2}[initiator] // handshake messages and the Open
	got := conn.written()
	for i := range n {
		if w := tr.Wire[me][i]; hex.EncodeToString(got[i]) != w {
			t.Errorf("chunk %d: %x\nwant %s", i, got[i], w)
		}
	}
}
