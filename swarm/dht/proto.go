package dht

import (
	"errors"
	"fmt"
)

// Errors of the proto2 decoders. Every decoder fails on truncated input,
// on a varint longer than 10 bytes, on field number 0, on wire types 3 and
// 4 (groups) and on the undefined types 6 and 7, and on a known field sent
// with the wrong wire type. Unknown fields of types 0, 1, 2 and 5 are
// skipped, as the JS decoder does.
var (
	ErrTruncated    = errors.New("truncated message")
	ErrBadWireType  = errors.New("bad wire type")
	ErrMissingField = errors.New("missing required field")
	ErrBadField     = errors.New("bad field value")
)

const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// appendVarint appends v as a protobuf varint.
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendTag(b []byte, field, wt int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wt))
}

func appendUintField(b []byte, field int, v uint64) []byte {
	return appendVarint(appendTag(b, field, wireVarint), v)
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendVarint(appendTag(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

// readVarint reads a varint at b[0:], returning it and its length.
func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0, fmt.Errorf("varint overflows 64 bits: %w", ErrBadField)
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(b) >= 10 {
		return 0, 0, fmt.Errorf("varint longer than 10 bytes: %w", ErrBadField)
	}
	return 0, 0, ErrTruncated
}

// field is one decoded field: its number, wire type, and either the varint
// value or the bytes payload (a subslice of the input).
type field struct {
	num   int
	wt    int
	v     uint64
	bytes []byte
}

// fieldReader walks the fields of one proto2 message.
type fieldReader struct {
	b   []byte
	off int
}

// next returns the next field; ok is false at the end of the input.
func (r *fieldReader) next() (f field, ok bool, err error) {
	if r.off >= len(r.b) {
		return field{}, false, nil
	}
	key, n, err := readVarint(r.b[r.off:])
	if err != nil {
		return field{}, false, fmt.Errorf("read field key: %w", err)
	}
	r.off += n
	if key>>3 == 0 || key>>3 > 1<<29-1 {
		return field{}, false, fmt.Errorf("field number %d: %w", key>>3, ErrBadField)
	}
	f = field{num: int(key >> 3), wt: int(key & 7)}
	if err := r.value(&f); err != nil {
		return field{}, false, fmt.Errorf("read field %d: %w", f.num, err)
	}
	return f, true, nil
}

func (r *fieldReader) value(f *field) error {
	rest := r.b[r.off:]
	switch f.wt {
	case wireVarint:
		v, n, err := readVarint(rest)
		if err != nil {
			return err
		}
		f.v, r.off = v, r.off+n
	case wireBytes:
		l, n, err := readVarint(rest)
		if err != nil {
			return err
		}
		if l > uint64(len(rest)-n) {
			return ErrTruncated
		}
		f.bytes = rest[n : n+int(l) : n+int(l)]
		r.off += n + int(l)
	case wireFixed64, wireFixed32:
		size := 8
		if f.wt == wireFixed32 {
			size = 4
		}
		if len(rest) < size {
			return ErrTruncated
		}
		r.off += size
	default:
		return fmt.Errorf("wire type %d: %w", f.wt, ErrBadWireType)
	}
	return nil
}

// want checks that a known field came with the wire type its schema says.
func (f field) want(wt int) error {
	if f.wt != wt {
		return fmt.Errorf("field %d has wire type %d, want %d: %w", f.num, f.wt, wt, ErrBadWireType)
	}
	return nil
}

// present returns b as a non-nil slice, so that a present zero-length bytes
// field stays distinguishable from an absent one (nil).
func present(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
