package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func TestFrameReaderChunked(t *testing.T) {
	var v messageVectors
	loadVector(t, "messages.json", &v)
	var all []byte
	for _, s := range v.Samples {
		all = append(all, unhex(t, s.Frame)...)
		all = append(all, 0) // a keep-alive between frames
	}
	r := newFrameReader(iotest.OneByteReader(bytes.NewReader(all)))
	for i, s := range v.Samples {
		fr, err := r.next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if fr.channel != s.Channel || fr.typ != s.Type || !bytes.Equal(fr.body, unhex(t, s.Body)) {
			t.Errorf("frame %d: %+v", i, fr)
		}
	}
	if _, err := r.next(); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"length varint over 8 bytes", "8080808080808080", ErrMalformed},
		{"header varint over 8 bytes", "0a" + "8080808080808080", ErrMalformed},
		{"length shorter than header", "01" + "8001", ErrMalformed},
		{"body over 8 MiB", "8280800401", ErrFrameTooLarge}, // L = 8 MiB + 2, header 1 byte
		{"cut in the length", "80", io.ErrUnexpectedEOF},
		{"cut in the header", "0290", io.ErrUnexpectedEOF},
		{"cut in the body", "0511080110", io.ErrUnexpectedEOF},
		{"cut in a large body", "8180800401" + "00", io.ErrUnexpectedEOF}, // exactly 8 MiB announced
	}
	for _, c := range cases {
		_, err := newFrameReader(bytes.NewReader(unhex(t, c.in))).next()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestAnnouncedFrameCostsLittle: announcing an 8 MiB frame and sending a
// few bytes of it allocates a read window and a body chunk, not 8 MiB.
func TestAnnouncedFrameCostsLittle(t *testing.T) {
	in := unhex(t, "8180800401"+"0102030405")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		newFrameReader(bytes.NewReader(in)).next()
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 10*(readBufSize+2*bodyChunk) {
		t.Errorf("%d bytes allocated for 10 announced frames", n)
	}
}

func TestHandshakeMessageTooLong(t *testing.T) {
	_, err := newFrameReader(bytes.NewReader(unhex(t, "808004"))).message(65535)
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("got %v", err)
	}
}

func TestAppendFrameSizes(t *testing.T) {
	for _, n := range []int{0, 120, 125, 126, 127, 16380, 16383, 16384, 1 << 20, MaxBody - 10} {
		m := Extension{ID: 1, Payload: make([]byte, n)}
		b, err := AppendFrame(nil, 3, m)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		fr, err := newFrameReader(bytes.NewReader(b)).next()
		if err != nil || fr.channel != 3 || fr.typ != TypeExtension || len(fr.body) != n+1 {
			t.Errorf("%d bytes: %+v %v", n, len(fr.body), err)
		}
	}
	if _, err := AppendFrame(nil, 1, Extension{Payload: make([]byte, MaxBody)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized frame: %v", err)
	}
}
