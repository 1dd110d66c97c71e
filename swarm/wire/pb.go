package wire

import (
	"encoding/binary"
	"fmt"
)

// pbReader reads proto2 fields from a message body.
type pbReader struct{ b []byte }

// eachField calls visit for every field of b with its number and wire
// type; visit must consume the field's value (or skip it).
func eachField(b []byte, visit func(p *pbReader, num, wt uint64) error) error {
	p := pbReader{b}
	for len(p.b) > 0 {
		tag, err := p.uvarint()
		if err != nil {
			return err
		}
		if err := visit(&p, tag>>3, tag&7); err != nil {
			return err
		}
	}
	return nil
}

func (p *pbReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(p.b)
	if n == 0 {
		return 0, malformed("truncated varint")
	}
	if n < 0 {
		return 0, malformed("varint overflows 64 bits")
	}
	p.b = p.b[n:]
	return v, nil
}

func (p *pbReader) uint(wt uint64) (uint64, error) {
	if wt != wireVarint {
		return 0, malformed("wire type %d where a varint belongs", wt)
	}
	return p.uvarint()
}

func (p *pbReader) optUint(wt uint64) (OptUint64, error) {
	v, err := p.uint(wt)
	return OptUint64{Value: v, Set: err == nil}, err
}

func (p *pbReader) optBool(wt uint64) (OptBool, error) {
	v, err := p.uint(wt)
	return OptBool{Value: v != 0, Set: err == nil}, err
}

// bytes returns a length-delimited field. It is never nil, even when empty,
// and its capacity ends with it so that appending to it copies.
func (p *pbReader) bytes(wt uint64) ([]byte, error) {
	if wt != wireBytes {
		return nil, malformed("wire type %d where bytes belong", wt)
	}
	n, err := p.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(p.b)) {
		return nil, malformed("field of %d bytes, %d left", n, len(p.b))
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v, nil
}

func (p *pbReader) hash(wt uint64, h *[32]byte) error {
	v, err := p.bytes(wt)
	if err == nil && len(v) != len(h) {
		err = malformed("hash of %d bytes, want %d", len(v), len(h))
	}
	copy(h[:], v)
	return err
}

// skip passes over an unknown field, as protocol-buffers' skip does for wire
// types 0, 1, 2 and 5; other wire types are errors.
func (p *pbReader) skip(wt uint64) error {
	var fixed int
	switch wt {
	case wireVarint:
		_, err := p.uvarint()
		return err
	case wireBytes:
		_, err := p.bytes(wt)
		return err
	case 1:
		fixed = 8
	case 5:
		fixed = 4
	default:
		return malformed("unknown wire type %d", wt)
	}
	if len(p.b) < fixed {
		return malformed("truncated fixed%d field", fixed*8)
	}
	p.b = p.b[fixed:]
	return nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
