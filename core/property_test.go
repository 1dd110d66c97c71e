package core

import (
	"bytes"
	"context"
	"testing"

	"pgregory.net/rapid"
)

func TestFlatTreeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := rapid.Uint64Range(0, 40).Draw(t, "depth")
		o := rapid.Uint64Range(0, 1<<20).Draw(t, "offset")
		x := treeIndex(d, o)
		if depth(x) != d || offset(x) != o {
			t.Fatalf("index %d: depth/offset %d/%d, want %d/%d", x, depth(x), offset(x), d, o)
		}
		if sibling(sibling(x)) != x || parent(sibling(x)) != parent(x) {
			t.Fatalf("sibling of %d is inconsistent", x)
		}
		if depth(parent(x)) != d+1 || leftSpan(x) > x || rightSpan(x) < x {
			t.Fatalf("spans or parent of %d wrong", x)
		}
		if rightSpan(x)-leftSpan(x) != count(x)-1 || leftSpan(x)%2 != 0 {
			t.Fatalf("count of %d = %d, spans %d..%d", x, count(x), leftSpan(x), rightSpan(x))
		}
		if l, r, ok := children(x); ok {
			if parent(l) != x || parent(r) != x || sibling(l) != r || !isLeftChild(l) || isLeftChild(r) {
				t.Fatalf("children of %d: %d, %d", x, l, r)
			}
		} else if d != 0 {
			t.Fatalf("node %d at depth %d has no children", x, d)
		}
	})
}

func TestFullRootsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Uint64Range(0, 1<<40).Draw(t, "blocks")
		roots := fullRoots(2 * n)
		next := uint64(0) // the next leaf a root must start at
		for i, r := range roots {
			if leftSpan(r) != next || (i > 0 && r <= roots[i-1]) {
				t.Fatalf("roots of %d blocks %v are not contiguous and ascending", n, roots)
			}
			if i > 0 && depth(r) >= depth(roots[i-1]) {
				t.Fatalf("roots of %d blocks %v do not shrink", n, roots)
			}
			next = rightSpan(r) + 2
		}
		if next != 2*n {
			t.Fatalf("roots of %d blocks cover %d leaves", n, next/2)
		}
	})
}

func TestRLERoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOf(rapid.SampledFrom([]string{"zeros", "ones", "mixed"})).Draw(t, "parts")
		var bf []byte
		for _, p := range parts {
			n := rapid.IntRange(1, 300).Draw(t, "n")
			switch p {
			case "zeros":
				bf = append(bf, make([]byte, n)...)
			case "ones":
				bf = append(bf, bytes.Repeat([]byte{0xff}, n)...)
			default:
				bf = append(bf, rapid.SliceOfN(rapid.Byte(), n, n).Draw(t, "bytes")...)
			}
		}
		enc := EncodeRLE(bf)
		dec, err := DecodeRLE(enc, len(bf))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if want := bytes.TrimRight(bf, "\x00"); !bytes.Equal(dec, want) {
			t.Fatalf("round trip of %d bytes gave %d bytes", len(want), len(dec))
		}
		if len(enc) > len(bf)+len(bf)/64+8 {
			t.Fatalf("encoding of %d bytes grew to %d", len(bf), len(enc))
		}
	})
}

// TestProofRoundTrip replicates random blocks of a writer of random length
// to a sparse reader, with random hash requests, stateless or per-peer
// proofs, and appends in between, as a peer would.
func TestProofRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		kp := KeyPairFromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seed"))
		writer, _ := newTestCore(t, kp)
		reader, _ := newTestCore(t, KeyPair{PublicKey: kp.PublicKey})
		var blocks [][]byte
		appendSome := func() {
			n := rapid.IntRange(1, 40).Draw(t, "batch")
			for range n {
				blocks = append(blocks, rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "block"))
			}
			if _, err := writer.Append(ctx, blocks[len(blocks)-n:]...); err != nil {
				t.Fatal(err)
			}
		}
		appendSome()
		var remote *RemoteTree
		if rapid.Bool().Draw(t, "stateful") {
			remote = NewRemoteTree()
		}
		for range rapid.IntRange(1, 60).Draw(t, "requests") {
			if rapid.IntRange(0, 9).Draw(t, "append?") == 0 {
				appendSome()
			}
			i := rapid.Uint64Range(0, uint64(len(blocks)-1)).Draw(t, "index")
			hash := rapid.IntRange(0, 4).Draw(t, "hash?") == 0
			transfer(t, ctx, writer, reader, remote, i, hash)
			if has, _ := reader.Has(ctx, i); !hash && !has {
				t.Fatalf("reader lacks block %d after import", i)
			}
		}
		for i := range reader.data.Len() {
			if reader.data.Get(i) {
				got, err := reader.Get(ctx, i, GetOptions{NoWait: true})
				if err != nil || !bytes.Equal(got, blocks[i]) {
					t.Fatalf("reader block %d = %x, %v", i, got, err)
				}
			}
		}
		if _, err := reader.Audit(ctx); err != nil {
			t.Fatalf("reader audit: %v", err)
		}
	})
}

type fataler interface{ Fatalf(string, ...any) }

// transfer requests block i of writer for reader, as a replicator would.
func transfer(t fataler, ctx context.Context, writer, reader *Hypercore, remote *RemoteTree, i uint64, hash bool) {
	digest := reader.Digest(i)
	p, err := writer.Proof(ctx, i, digest, hash, remote)
	if err != nil {
		t.Fatalf("proof of %d with digest %d: %v", i, digest, err)
	}
	d := Data{Index: i, Nodes: p.Nodes, Signature: p.Signature}
	if !hash {
		if d.Value, err = writer.Get(ctx, i, GetOptions{NoWait: true}); err != nil {
			t.Fatalf("writer get %d: %v", i, err)
		}
	}
	if err := reader.Import(ctx, d); err != nil {
		t.Fatalf("import %d (hash %v, digest %d, nodes %v): %v", i, hash, digest, indices(p.Nodes), err)
	}
}

func TestBitfieldProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bf := NewBitfield()
		set := map[uint64]bool{}
		for _, i := range rapid.SliceOf(rapid.Uint64Range(0, 100000)).Draw(t, "bits") {
			bf.Set(i, true)
			set[i] = true
		}
		start := rapid.Uint64Range(0, 100000).Draw(t, "start")
		end := rapid.Uint64Range(start, 1<<40).Draw(t, "end")
		var want uint64
		for i := range set {
			if i >= start && i < end {
				want++
			}
		}
		if got := bf.Count(start, end); got != want {
			t.Fatalf("count(%d, %d) = %d, want %d", start, end, got, want)
		}
		from := start / 8 * 8
		dec, err := DecodeRLE(bf.Compress(from, 1<<50), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := range set {
			if i >= from && (i-from)/8 >= uint64(len(dec)) {
				t.Fatalf("bit %d missing from the compressed bitfield from %d", i, from)
			}
			if i >= from && dec[(i-from)/8]&(0x80>>((i-from)%8)) == 0 {
				t.Fatalf("bit %d not set in the compressed bitfield from %d", i, from)
			}
		}
	})
}

// TestBitfieldCountAfterPages: the running count stays right when pages are
// loaded over others, as a reopened or importing core does.
func TestBitfieldCountAfterPages(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bf, shadow := NewBitfield(), NewBitfield()
		for range rapid.IntRange(1, 20).Draw(t, "ops") {
			i := rapid.Uint64Range(0, 3*pageBits).Draw(t, "bit")
			if rapid.Bool().Draw(t, "via page") {
				e := newPageEdit(bf)
				e.set(i)
				for _, pg := range e.list() {
					bf.LoadPage(pg)
				}
			} else {
				bf.Set(i, rapid.Bool().Draw(t, "value"))
			}
			shadow = NewBitfield()
			for j := range bf.Len() {
				if bf.Get(j) {
					shadow.Set(j, true)
				}
			}
			if bf.Count(0, bf.Len()) != shadow.Count(0, shadow.Len()) || bf.Count(0, 1<<62) != shadow.ones {
				t.Fatalf("count %d, recount %d", bf.Count(0, bf.Len()), shadow.ones)
			}
		}
	})
}
