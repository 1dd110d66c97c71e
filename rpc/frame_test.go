package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/rpc/schema"
)

// sampleFrame is a real message in stream framing.
func sampleFrame(t testing.TB) []byte {
	msg, seg, err := capnp.NewMessage(capnp.MultiSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := schema.NewRootStatus(seg)
	st.SetVersion("v1.2.3")
	st.SetPid(42)
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFrameReaderReadsMessages(t *testing.T) {
	frame := sampleFrame(t)
	r := newFrameReader(bytes.NewReader(append(append([]byte{}, frame...), frame...)), MaxMessageSize)
	for range 2 {
		msg, err := r.Decode()
		if err != nil {
			t.Fatal(err)
		}
		st, err := schema.ReadRootStatus(msg)
		if v, _ := st.Version(); err != nil || v != "v1.2.3" || st.Pid() != 42 {
			t.Fatalf("decoded %q %d, %v", v, st.Pid(), err)
		}
	}
	if _, err := r.Decode(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

func header(segs uint32, sizes ...uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, segs-1)
	for _, s := range sizes {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	if len(b)%8 != 0 {
		b = append(b, 0, 0, 0, 0)
	}
	return b
}

func TestFrameReaderRefuses(t *testing.T) {
	frame := sampleFrame(t)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"cut header", frame[:5], io.ErrUnexpectedEOF},
		{"cut body", frame[:len(frame)-3], io.ErrUnexpectedEOF},
		{"too many segments", header(maxSegments + 1), errFrame},
		{"too large", header(1, uint32(MaxMessageSize/8+1)), ErrTooLarge},
		{"too large in sum", header(2, uint32(MaxMessageSize/16+1), uint32(MaxMessageSize/16+1)), ErrTooLarge},
	} {
		_, err := newFrameReader(bytes.NewReader(tc.in), MaxMessageSize).Decode()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestFrameReaderHoldsWhatArrived: a header announcing 64 MiB followed by
// a trickle holds the first chunk (1 MiB), not what the header announced,
// and times out once the bytes stop.
func TestFrameReaderHoldsWhatArrived(t *testing.T) {
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	r := newFrameReader(a, MaxMessageSize)
	r.timeout = 100 * time.Millisecond
	go func() {
		z.Write(header(1, 64<<20/8))
		z.Write(make([]byte, 1000))
	}()
	start := time.Now()
	_, err := r.Decode()
	if r.held > 8+firstChunk {
		t.Errorf("a 64 MiB header with 1,000 bytes behind it made a %d-byte buffer", r.held)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a stalled body: %v, want a deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the stall took %v to time out", d)
	}
}

// FuzzFrameReader: any bytes give messages or an error, never a panic or
// a buffer past the limit.
func FuzzFrameReader(f *testing.F) {
	frame := sampleFrame(f)
	f.Add(frame)
	f.Add(append(append([]byte{}, frame...), frame[:9]...))
	f.Add(header(3, 1, 2, 3))
	f.Add(header(1, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newFrameReader(bytes.NewReader(b), 1<<20)
		for range 8 {
			msg, err := r.Decode()
			if err != nil {
				return
			}
			if st, err := schema.ReadRootStatus(msg); err == nil {
				st.Version()
				st.Network()
			}
		}
	})
}
