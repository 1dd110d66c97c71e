package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

const (
	// MaxBody is the largest frame body (after the header varint), as in
	// simple-message-channels. Larger frames end the stream.
	MaxBody = 8 << 20
	// maxFrameVarint: JS gives up on a length or header varint still
	// unfinished after 8 bytes.
	maxFrameVarint = 8
	// lenSlot is the room appendFrame reserves for varint(L); L is at most
	// MaxBody + 8, which takes 4 bytes.
	lenSlot = 4
	// readBufSize is the frameReader's window.
	readBufSize = 64 << 10
	// bodyChunk is the most allocated for a body before its bytes arrive.
	bodyChunk = 256 << 10
)

// AppendFrame appends the frame varint(L) || varint(channel<<4 | type) ||
// body for m on channel. It fails with ErrFrameTooLarge for a body over
// MaxBody.
func AppendFrame(b []byte, channel uint64, m Message) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, lenSlot)...)
	b = binary.AppendUvarint(b, channel<<4|uint64(m.Type()))
	headerLen := len(b) - start - lenSlot
	b = m.appendBody(b)
	n := len(b) - start - lenSlot
	if n-headerLen > MaxBody {
		return b[:start], fmt.Errorf("append %v frame: body of %d bytes: %w", m.Type(), n-headerLen, ErrFrameTooLarge)
	}
	var l [binary.MaxVarintLen64]byte
	ll := binary.PutUvarint(l[:], uint64(n))
	copy(b[start+ll:], b[start+lenSlot:])
	copy(b[start:], l[:ll])
	return b[:len(b)-lenSlot+ll], nil
}

// frame is one received frame.
type frame struct {
	channel uint64
	typ     Type
	body    []byte
}

// frameReader splits a byte stream into varint-prefixed messages: the
// handshake messages first (cleartext), then frames, which it decrypts once
// the transport cipher is set. Bytes read ahead of the cipher are kept and
// decrypted when it is set, so none are lost.
//
// Once the cipher is set, buffered bytes are decrypted as they are
// consumed: a frame's header a few bytes at a time, its body in the same
// pass that copies it out of the buffer.
type frameReader struct {
	src     io.Reader
	rx      *xsalsa20 // nil until the handshake is done
	buf     []byte
	r, d, w int // buf[r:w] is read but not consumed; buf[r:d] is cleartext, buf[d:w] still ciphertext
}

func newFrameReader(src io.Reader) *frameReader {
	return &frameReader{src: src, buf: make([]byte, readBufSize)}
}

// setCipher starts decryption, including of the bytes already buffered.
func (f *frameReader) setCipher(rx *xsalsa20) {
	f.rx = rx
	f.d = f.r
}

// decryptTo makes the buffered bytes up to buf[end] cleartext.
func (f *frameReader) decryptTo(end int) {
	if end > f.d {
		f.rx.XOR(f.buf[f.d:end], f.buf[f.d:end])
		f.d = end
	}
}

// next returns the next frame, skipping keep-alives. It returns io.EOF at a
// frame boundary and io.ErrUnexpectedEOF inside a frame.
func (f *frameReader) next() (frame, error) {
	for {
		l, _, err := f.varint(maxFrameVarint)
		if err != nil {
			return frame{}, err
		}
		if l == 0 {
			continue // keep-alive
		}
		return f.frameBody(l)
	}
}

func (f *frameReader) frameBody(l uint64) (frame, error) {
	header, hn, err := f.varint(maxFrameVarint)
	if err != nil {
		return frame{}, noEOF(err)
	}
	if uint64(hn) > l {
		return frame{}, malformed("frame length %d shorter than its header", l)
	}
	if l-uint64(hn) > MaxBody {
		return frame{}, fmt.Errorf("read frame: body of %d bytes: %w", l-uint64(hn), ErrFrameTooLarge)
	}
	body, err := f.readBody(int(l) - hn)
	return frame{channel: header >> 4, typ: Type(header & 15), body: body}, noEOF(err)
}

// readBody reads an n-byte body. Past bodyChunk it grows the buffer as
// bytes arrive, so that a peer announcing a large frame gets no large
// allocation for free.
func (f *frameReader) readBody(n int) ([]byte, error) {
	body := make([]byte, 0, min(n, bodyChunk))
	for len(body) < n {
		if len(body) == cap(body) {
			body = slices.Grow(body, min(n, 2*cap(body))-len(body))
		}
		end := min(n, cap(body))
		if err := f.readFull(body[len(body):end]); err != nil {
			return nil, err
		}
		body = body[:end]
	}
	return body, nil
}

// message reads one handshake message: varint(length) || message.
func (f *frameReader) message(max int) ([]byte, error) {
	n, _, err := f.varint(binary.MaxVarintLen64)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("read handshake message: %d bytes, over %d: %w", n, max, ErrMalformed)
	}
	msg := make([]byte, n)
	return msg, noEOF(f.readFull(msg))
}

// varint reads an unsigned varint of at most max bytes and its length.
func (f *frameReader) varint(max int) (v uint64, n int, err error) {
	for shift := 0; ; shift += 7 {
		if f.r == f.w {
			if err := f.fill(); err != nil {
				return 0, 0, f.eofInside(err, n)
			}
		}
		if f.r == f.d {
			f.decryptTo(min(f.w, f.r+maxFrameVarint))
		}
		c := f.buf[f.r]
		f.r++
		n++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, n, nil
		}
		if n == max {
			return 0, n, malformed("varint longer than %d bytes", max)
		}
	}
}

func (f *frameReader) eofInside(err error, n int) error {
	if n > 0 {
		return noEOF(err)
	}
	return err
}

// fill reads more bytes into the empty window.
func (f *frameReader) fill() error {
	f.r, f.d, f.w = 0, 0, 0
	n, err := f.src.Read(f.buf)
	if n > 0 {
		f.w = n
		if f.rx == nil {
			f.d = n
		}
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readFull fills p from the window, decrypting what is still ciphertext
// on the way, then straight from src.
func (f *frameReader) readFull(p []byte) error {
	n := min(len(p), f.w-f.r)
	plain := copy(p[:n], f.buf[f.r:f.d])
	if plain < n {
		f.rx.XOR(p[plain:n], f.buf[f.d:f.r+n])
		f.d = f.r + n
	}
	f.r += n
	if n == len(p) {
		return nil
	}
	rest := p[n:]
	if _, err := io.ReadFull(f.src, rest); err != nil {
		return err
	}
	if f.rx != nil {
		f.rx.XOR(rest, rest)
	}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
