package core

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The run-length encoding of bitfield-rle 2, used in Have.bitfield. An
// encoding is a series of chunks, each led by a varint header h:
// h&1 == 1 is a run of h>>2 bytes, all 0xff if h&2 else all 0x00;
// h&1 == 0 is a literal of h>>1 bytes that follow. Trailing zero bytes are
// dropped before encoding and implied after decoding.

// ErrBadRLE reports a malformed run-length encoding.
var ErrBadRLE = errors.New("malformed run-length encoded bitfield")

// EncodeRLE encodes a bitfield exactly as the JavaScript bitfield-rle does: a
// run of 0x00 or 0xff bytes is cut out of the surrounding literal only when
// that makes the output strictly shorter.
func EncodeRLE(bitfield []byte) []byte {
	end := len(bitfield)
	for end > 0 && bitfield[end-1] == 0 {
		end--
	}
	e := rleEncoder{in: bitfield[:end]}
	run, runByte := 0, byte(0)
	for i, c := range e.in {
		if run > 0 && c == runByte {
			run++
			continue
		}
		if run > 0 {
			e.update(i, run, runByte)
		}
		run = 0
		if c == 0 || c == 0xff {
			run, runByte = 1, c
		}
	}
	if run > 0 {
		e.update(end, run, runByte)
	}
	e.flushLiteral(end)
	return e.out
}

type rleEncoder struct {
	in   []byte
	out  []byte
	done int // input bytes already encoded
}

// update considers the run of length run that ends before i.
func (e *rleEncoder) update(i, run int, c byte) {
	head := i - run - e.done
	headCost := 0
	if head > 0 {
		headCost = uvarintLen(uint64(2*head)) + head
	}
	h := uint64(4*run + 1)
	if c == 0xff {
		h += 2
	}
	runCost := headCost + uvarintLen(h)
	literalCost := uvarintLen(uint64(2*(i-e.done))) + i - e.done
	if runCost >= literalCost {
		return
	}
	if head > 0 {
		e.flushLiteral(i - run)
	}
	e.out = binary.AppendUvarint(e.out, h)
	e.done = i
}

func (e *rleEncoder) flushLiteral(end int) {
	if end <= e.done {
		return
	}
	e.out = binary.AppendUvarint(e.out, uint64(2*(end-e.done)))
	e.out = append(e.out, e.in[e.done:end]...)
	e.done = end
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// DecodeRLE decodes a run-length encoded bitfield. It refuses encodings that
// would decode to more than limit bytes, so a peer cannot make it allocate
// without bound.
func DecodeRLE(enc []byte, limit int) ([]byte, error) {
	var out []byte
	for len(enc) > 0 {
		h, n := binary.Uvarint(enc)
		if n <= 0 {
			return nil, fmt.Errorf("decode bitfield: bad chunk header: %w", ErrBadRLE)
		}
		enc = enc[n:]
		size := h >> 1
		if h&1 == 1 {
			size = h >> 2
		}
		if size > uint64(limit-len(out)) {
			return nil, fmt.Errorf("decode bitfield: longer than %d bytes: %w", limit, ErrBadRLE)
		}
		switch {
		case h&1 == 0:
			if size > uint64(len(enc)) {
				return nil, fmt.Errorf("decode bitfield: literal of %d bytes past the end: %w", size, ErrBadRLE)
			}
			out = append(out, enc[:size]...)
			enc = enc[size:]
		case h&2 != 0:
			out = appendRepeat(out, 0xff, int(size))
		default:
			out = appendRepeat(out, 0, int(size))
		}
	}
	return out, nil
}

func appendRepeat(b []byte, c byte, n int) []byte {
	for range n {
		b = append(b, c)
	}
	return b
}
