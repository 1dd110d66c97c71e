package core

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecodeRLE: any input decodes or fails with ErrBadRLE, within the limit.
func FuzzDecodeRLE(f *testing.F) {
	for _, s := range [][]byte{{}, {0x07}, {0x2b}, {0x0b, 0x02, 0xf8}, {0x8b, 0x27}, {0x06, 0x84, 0x04, 0x08}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc []byte) {
		const limit = 1 << 16
		dec, err := DecodeRLE(enc, limit)
		if err != nil {
			if !errors.Is(err, ErrBadRLE) {
				t.Fatalf("error %v does not wrap ErrBadRLE", err)
			}
			return
		}
		if len(dec) > limit {
			t.Fatalf("decoded %d bytes past the limit", len(dec))
		}
		again, err := DecodeRLE(EncodeRLE(dec), limit)
		if err != nil || string(trimZeros(again)) != string(trimZeros(dec)) {
			t.Fatalf("re-encoding changed the bitfield: %v", err)
		}
	})
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// FuzzImport feeds a reader arbitrary Data messages derived from a valid
// one: it must refuse or accept them without panicking, and never accept a
// block whose bytes differ from the writer's.
func FuzzImport(f *testing.F) {
	ctx := context.Background()
	w, _ := newTestCore(f, KeyPairFromSeed(make([]byte, 32)))
	for i := range 21 {
		w.Append(ctx, []byte{byte(i), 9, 9})
	}
	f.Add(uint64(5), []byte{5, 9, 9}, []byte{}, uint64(0), false)
	f.Add(uint64(20), []byte{20, 9, 9}, []byte{1}, uint64(0), true)
	f.Fuzz(func(t *testing.T, index uint64, value, nodeMask []byte, digest uint64, hash bool) {
		r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
		p, err := w.Proof(ctx, index%21, digest, hash, nil)
		if err != nil {
			return
		}
		d := Data{Index: index, Value: value, Nodes: p.Nodes, Signature: p.Signature}
		for i, m := range nodeMask {
			if len(d.Nodes) > 0 {
				n := &d.Nodes[i%len(d.Nodes)]
				n.Hash[m%32] ^= m
				n.Size += uint64(m >> 7)
				n.Index ^= binary.BigEndian.Uint64(append(make([]byte, 7), m&3))
			}
		}
		if r.Import(ctx, d) != nil || value == nil {
			return
		}
		want, _ := w.Get(ctx, index, GetOptions{NoWait: true})
		if got, err := r.Get(ctx, index, GetOptions{NoWait: true}); err != nil || string(got) != string(want) {
			t.Fatalf("accepted block %d = %x, writer has %x", index, got, want)
		}
	})
}
