package rpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	capnp "capnproto.org/go/capnp/v3"
)

// Limits of one Cap'n Proto frame as the codec reads it.
const (
	// maxSegments bounds a frame's segment table; capnp-go itself never
	// sends more than a handful.
	maxSegments = 512
	// frameTimeout is how long a frame that has begun may go without a
	// byte arriving: a half-sent frame cannot hold the connection forever.
	frameTimeout = 30 * time.Second
	// firstChunk is what a frame's buffer starts at: it grows (fourfold)
	// with what arrives, so a large header followed by a slow body holds
	// little, and a large frame that arrives at once is copied little.
	// It holds one appendPart (PartBytes of blocks, its last block
	// crossing the mark, and the message's pointers) without growing.
	firstChunk = 2 * PartBytes
	// traverseLimit bounds the bytes reading one message may traverse
	// (capnp's guard against pointer amplification): twice the largest
	// message, so the largest append reads whole.
	traverseLimit = 2 * MaxMessageSize
	// readBuffer is what one read from the connection may bring at once.
	readBuffer = 64 << 10
)

// deadliner is a connection that can time out a read (a net.Conn).
type deadliner interface{ SetReadDeadline(time.Time) error }

// frameReader reads Cap'n Proto stream frames: the segment table, then the
// segments, into a buffer that grows only as bytes arrive, with a deadline
// between the bytes of a frame once it has begun.
type frameReader struct {
	last    atomic.Int64 // when the last frame arrived, in Unix nanoseconds
	r       *bufio.Reader
	armed   bool // a read deadline is set
	held    int  // the capacity of the frame buffer last made, for tests
	size    int  // the bytes of the frame last decoded
	max     uint64
	dl      deadliner // nil when the stream has no deadlines
	timeout time.Duration
}

func newFrameReader(r io.Reader, max uint64) *frameReader {
	dl, _ := r.(deadliner)
	f := &frameReader{r: bufio.NewReaderSize(r, readBuffer), max: max, dl: dl, timeout: frameTimeout}
	f.last.Store(time.Now().UnixNano())
	return f
}

// lastSize is the bytes of the frame Decode returned last. Only the
// goroutine that calls Decode may ask.
func (f *frameReader) lastSize() int64 { return int64(f.size) }

// quietFor tells how long ago the last frame arrived.
func (f *frameReader) quietFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - f.last.Load())
}

// errFrame: a frame broke the framing rules; the connection must end.
var errFrame = errors.New("malformed frame")

// Decode reads the next message.
func (f *frameReader) Decode() (*capnp.Message, error) {
	var first [8]byte
	if _, err := io.ReadFull(f.r, first[:1]); err != nil {
		return nil, err // between frames: no deadline, EOF is a clean end
	}
	defer f.disarm()
	if err := f.read(first[1:]); err != nil {
		return nil, fmt.Errorf("read frame header: %w", err)
	}
	segs := uint64(binary.LittleEndian.Uint32(first[:4])) + 1
	if segs > maxSegments {
		return nil, fmt.Errorf("frame of %d segments, at most %d: %w", segs, maxSegments, errFrame)
	}
	table := make([]byte, 8+4*(segs-1)+4*((segs+1)%2))
	copy(table, first[:])
	if err := f.read(table[8:]); err != nil {
		return nil, fmt.Errorf("read frame segment table: %w", err)
	}
	total := uint64(0)
	for i := range segs {
		total += 8 * uint64(binary.LittleEndian.Uint32(table[4+4*i:]))
	}
	if total > f.max {
		return nil, fmt.Errorf("frame of %d bytes, more than %d: %w", total, f.max, ErrTooLarge)
	}
	buf, err := f.body(table, total)
	if err != nil {
		return nil, err
	}
	msg, err := capnp.Unmarshal(buf)
	if err != nil {
		return nil, fmt.Errorf("decode frame: %w: %w", errFrame, err)
	}
	msg.ResetReadLimit(traverseLimit)
	f.size = len(buf)
	f.last.Store(time.Now().UnixNano())
	return msg, nil
}

// body reads total bytes after the segment table, growing the buffer as
// they come.
func (f *frameReader) body(table []byte, total uint64) ([]byte, error) {
	want := len(table) + int(total)
	buf := make([]byte, len(table), min(want, len(table)+firstChunk))
	copy(buf, table)
	f.held = cap(buf)
	for len(buf) < want {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(want, 4*cap(buf)))
			copy(grown, buf)
			buf = grown
			f.held = cap(buf)
		}
		f.armIfWaiting()
		n, err := f.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && len(buf) < want {
			return nil, fmt.Errorf("read frame body (%d of %d bytes): %w", len(buf)-len(table), total, noEOF(err))
		}
	}
	return buf, nil
}

// read fills b from inside a frame.
func (f *frameReader) read(b []byte) error {
	for len(b) > 0 {
		f.armIfWaiting()
		n, err := f.r.Read(b)
		if b = b[n:]; err != nil && len(b) > 0 {
			return noEOF(err)
		}
	}
	return nil
}

// armIfWaiting gives the frame in progress frameTimeout for its next
// bytes when they must come from the connection: a frame that arrived
// whole, the common case, costs no deadline at all.
func (f *frameReader) armIfWaiting() {
	if f.dl != nil && f.r.Buffered() == 0 {
		f.dl.SetReadDeadline(time.Now().Add(f.timeout))
		f.armed = true
	}
}

func (f *frameReader) disarm() {
	if f.armed {
		f.dl.SetReadDeadline(time.Time{})
		f.armed = false
	}
}

// noEOF turns an end of stream inside a frame into what it is: a cut.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
