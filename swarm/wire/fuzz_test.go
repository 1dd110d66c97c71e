package wire

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"
)

// The fuzz targets are seeded from messages.json (and the transcripts for
// the frame parser); testdata/fuzz holds the inputs the fuzzers found
// interesting. Malformed input must give an error, never a panic, and a
// body that decodes must survive an encode/decode round trip.

func seedBodies(f *testing.F, typ Type) {
	var v messageVectors
	loadVector(f, "messages.json", &v)
	for _, s := range v.Samples {
		if s.Type == typ {
			f.Add(unhex(f, s.Body))
		}
	}
	for _, e := range v.ExtensionFrames {
		if typ == TypeExtension {
			f.Add(Extension{ID: e.ExtensionID, Payload: unhex(f, e.Payload)}.appendBody(nil))
		}
	}
	f.Add([]byte{})
}

// fuzzDecoder checks one decoder: decoding never panics, and what decodes
// re-encodes canonically and decodes to the same message.
func fuzzDecoder(f *testing.F, typ Type) {
	seedBodies(f, typ)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(typ, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		checkRoundTrip(t, m)
	})
}

func checkRoundTrip(t *testing.T, m Message) {
	t.Helper()
	body := m.appendBody(nil)
	m2, err := Decode(m.Type(), body)
	if err != nil {
		t.Fatalf("re-encoded %#v does not decode: %v", m, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip %#v\n        -> %#v", m, m2)
	}
	if body2 := m2.appendBody(nil); !bytes.Equal(body, body2) {
		t.Fatalf("encoding not stable: %x then %x", body, body2)
	}
}

func FuzzDecodeOpen(f *testing.F)      { fuzzDecoder(f, TypeOpen) }
func FuzzDecodeOptions(f *testing.F)   { fuzzDecoder(f, TypeOptions) }
func FuzzDecodeStatus(f *testing.F)    { fuzzDecoder(f, TypeStatus) }
func FuzzDecodeHave(f *testing.F)      { fuzzDecoder(f, TypeHave) }
func FuzzDecodeUnhave(f *testing.F)    { fuzzDecoder(f, TypeUnhave) }
func FuzzDecodeWant(f *testing.F)      { fuzzDecoder(f, TypeWant) }
func FuzzDecodeUnwant(f *testing.F)    { fuzzDecoder(f, TypeUnwant) }
func FuzzDecodeRequest(f *testing.F)   { fuzzDecoder(f, TypeRequest) }
func FuzzDecodeCancel(f *testing.F)    { fuzzDecoder(f, TypeCancel) }
func FuzzDecodeData(f *testing.F)      { fuzzDecoder(f, TypeData) }
func FuzzDecodeClose(f *testing.F)     { fuzzDecoder(f, TypeClose) }
func FuzzDecodeExtension(f *testing.F) { fuzzDecoder(f, TypeExtension) }

// FuzzNoisePayload: the handshake payload decoder.
func FuzzNoisePayload(f *testing.F) {
	var v handshakeVector
	loadVector(f, "handshake.json", &v)
	f.Add(unhex(f, v.Initiator.Payload))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		nonce, err := payloadNonce(payload)
		if err == nil && !bytes.Contains(payload, nonce[:]) {
			t.Fatalf("nonce %x is not in %x", nonce, payload)
		}
	})
}

// FuzzFrameReader: the frame parser over any bytes, read whole and one
// byte at a time; both give the same frames, and each frame that decodes
// re-encodes to a frame that reads back the same.
func FuzzFrameReader(f *testing.F) {
	var v messageVectors
	loadVector(f, "messages.json", &v)
	var all []byte
	for _, s := range v.Samples {
		f.Add(unhex(f, s.Frame))
		all = append(all, unhex(f, s.Frame)...)
	}
	f.Add(append(all, 0, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		whole := readFrames(newFrameReader(bytes.NewReader(in)))
		bytewise := readFrames(newFrameReader(iotest.OneByteReader(bytes.NewReader(in))))
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("chunking changed the frames:\n%+v\n%+v", whole, bytewise)
		}
		for _, fr := range whole.frames {
			checkFrame(t, fr)
		}
	})
}

type readResult struct {
	frames []frame
	err    string
}

func readFrames(r *frameReader) readResult {
	var res readResult
	for {
		fr, err := r.next()
		if err != nil {
			res.err = err.Error()
			return res
		}
		res.frames = append(res.frames, fr)
	}
}

func checkFrame(t *testing.T, fr frame) {
	m, err := Decode(fr.typ, fr.body)
	if err != nil {
		return
	}
	b, err := AppendFrame(nil, fr.channel, m)
	if err != nil {
		t.Fatalf("re-encode %#v: %v", m, err)
	}
	back, err := newFrameReader(bytes.NewReader(b)).next()
	if err != nil || back.channel != fr.channel || back.typ != fr.typ {
		t.Fatalf("re-encoded frame %x reads as %+v, %v", b, back, err)
	}
	checkRoundTrip(t, m)
}

// FuzzStream feeds frames to a Stream after a (pretend) handshake: the
// channel bookkeeping must neither panic nor outgrow MaxChannels, whatever
// Opens and Closes arrive, while the local side opens and rejects cores.
func FuzzStream(f *testing.F) {
	// Whole frames of the transcripts, but no big ones: Go's mutator is
	// slow on large inputs.
	for _, name := range transcripts {
		var tr transcript
		loadVector(f, name, &tr)
		var in []byte
		for _, e := range tr.Events {
			if fr := unhex(f, e.Frame); len(fr) < 300 {
				in = append(in, fr...)
			}
		}
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := fuzzStream(in)
		defer s.Close()
		s.OpenChannel(testKey(1))
		ctx := context.Background()
		for i := 0; ; i++ {
			ev, err := s.Recv(ctx)
			if err != nil {
				break
			}
			if ev.Kind == EventRemoteOpen {
				if i%2 == 0 {
					s.Reject(ev.DiscoveryKey)
				} else {
					s.OpenChannel(testKey(byte(i)))
				}
			}
			checkTable(t, s)
		}
	})
}

// fuzzStream is a Stream reading cleartext in as if after a handshake with
// all-zero keys and nonces.
func fuzzStream(in []byte) *Stream {
	var ses session
	enc := bytes.Clone(in)
	newXSalsa20(&ses.rx, &ses.remoteNonce).XOR(enc, enc)
	conn := &replayConn{in: bytes.NewReader(enc), discard: true}
	s := NewStream(conn, Config{MaxChannels: 4, KeepAlive: -1})
	s.started.Store(true)
	s.start(ses)
	return s
}

func checkTable(t *testing.T, s *Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chans.byDK) > s.cfg.MaxChannels || len(s.chans.remote) > len(s.chans.byDK) || len(s.chans.local) > s.cfg.MaxChannels+1 {
		t.Fatalf("table grew: %d cores, %d remote ids, %d local ids", len(s.chans.byDK), len(s.chans.remote), len(s.chans.local))
	}
	for id, ch := range s.chans.remote {
		if s.chans.byDK[ch.dk] != ch || ch.remoteID != id || !ch.remoteOpen {
			t.Fatalf("remote id %d maps to a stale channel", id)
		}
	}
	for id, ch := range s.chans.local {
		if ch != nil && (s.chans.byDK[ch.dk] != ch || ch.localID != uint64(id)) {
			t.Fatalf("local id %d maps to a stale channel", id)
		}
	}
}
