package core

import (
	"context"
	"math/rand/v2"
	"testing"
)

// randomSizedBlocks returns n incompressible blocks of sizes up to max.
func randomSizedBlocks(seed uint64, n, max int) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	blocks := make([][]byte, n)
	for i := range blocks {
		blocks[i] = make([]byte, r.IntN(max+1))
		for k := range blocks[i] {
			blocks[i][k] = byte(r.Uint32())
		}
	}
	return blocks
}

// TestLeafHashes: the parallel hashing of a large batch gives every
// block's LeafHash, in order, whatever the sizes (empty blocks too).
func TestLeafHashes(t *testing.T) {
	for _, c := range []struct{ n, max int }{{0, 0}, {1, 0}, {3, 100}, {40, 128 << 10}, {7, 2 << 20}, {300, 16 << 10}} {
		blocks := randomSizedBlocks(uint64(c.n), c.n, c.max)
		got := LeafHashes(blocks)
		if len(got) != len(blocks) {
			t.Fatalf("%d blocks: %d hashes", len(blocks), len(got))
		}
		for i, b := range blocks {
			if got[i] != LeafHash(b) || got[i] != LeafNode(uint64(i), b).Hash {
				t.Fatalf("%d blocks up to %d bytes: hash %d differs", c.n, c.max, i)
			}
		}
	}
}

// TestAppendHashed: an append with its leaf hashes given signs the same
// core as a plain append of the same blocks; hashes that do not match the
// number of blocks are refused and change nothing.
func TestAppendHashed(t *testing.T) {
	ctx := context.Background()
	kp := KeyPairFromSeed(make([]byte, 32))
	a, _ := newTestCore(t, kp)
	b, _ := newTestCore(t, kp)
	for round, blocks := range [][][]byte{randomSizedBlocks(1, 5, 3000), randomSizedBlocks(2, 20, 200<<10)} {
		if _, err := a.Append(ctx, blocks...); err != nil {
			t.Fatal(err)
		}
		if _, err := b.AppendHashed(ctx, blocks, LeafHashes(blocks)); err != nil {
			t.Fatal(err)
		}
		sa, _ := a.Signature(ctx, a.Length()-1)
		sb, _ := b.Signature(ctx, b.Length()-1)
		if a.Length() != b.Length() || string(sa.Signature) != string(sb.Signature) {
			t.Fatalf("round %d: lengths %d, %d; signatures differ: %v", round, a.Length(), b.Length(), string(sa.Signature) != string(sb.Signature))
		}
	}
	n := b.Length()
	if _, err := b.AppendHashed(ctx, [][]byte{[]byte("x"), []byte("y")}, make([][32]byte, 1)); err == nil {
		t.Fatal("two blocks with one hash were appended")
	}
	if b.Length() != n {
		t.Fatalf("length %d after a refused append, want %d", b.Length(), n)
	}
}
