package core

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// batchOf builds the Data messages of blocks idx as a reader in state r
// would receive them: digests from r's committed tree, proofs from w.
func batchOf(t *testing.T, w, r *Hypercore, remote *RemoteTree, idx []uint64) []Data {
	t.Helper()
	ctx := context.Background()
	var ds []Data
	for _, i := range idx {
		p, err := w.Proof(ctx, i, r.Digest(i), false, remote)
		if err != nil {
			t.Fatal(err)
		}
		v, err := w.Get(ctx, i, GetOptions{NoWait: true})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, Data{Index: i, Value: v, Nodes: p.Nodes, Signature: p.Signature})
	}
	return ds
}

func TestImportBatch(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 100)
	r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
	remote := NewRemoteTree()
	commits := 0
	st.CommitHook = func(*Batch) error { commits++; return nil }
	for start := uint64(0); start < 100; start += 25 {
		var idx []uint64
		for i := start; i < start+25; i++ {
			idx = append(idx, i)
		}
		ds := batchOf(t, w, r, remote, idx)
		if n, err := r.ImportBatch(ctx, ds); n != len(ds) || err != nil {
			t.Fatalf("import batch at %d: %d, %v", start, n, err)
		}
	}
	if commits != 4 || r.Length() != 100 {
		t.Fatalf("%d commits, length %d; want 4, 100", commits, r.Length())
	}
	for i := uint64(0); i < 100; i++ {
		got, _ := r.Get(ctx, i, GetOptions{NoWait: true})
		want, _ := w.Get(ctx, i, GetOptions{NoWait: true})
		if string(got) != string(want) {
			t.Fatalf("block %d: %x, want %x", i, got, want)
		}
	}
	if rep, err := r.Audit(ctx); err != nil || rep.Blocks != 100 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// TestImportBatchStopsAtBadBlock: the blocks before a tampered one are
// committed, nothing from it on.
func TestImportBatchStopsAtBadBlock(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 40)
	r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
	ds := batchOf(t, w, r, nil, []uint64{39, 3, 4, 5, 20, 21})
	ds[4] = cloneData(ds[4])
	ds[4].Value[0] ^= 1
	n, err := r.ImportBatch(ctx, ds)
	if n != 4 || !errors.Is(err, ErrVerify) {
		t.Fatalf("import: %d, %v; want 4, ErrVerify", n, err)
	}
	if got, _ := r.Downloaded(ctx, 0, 40); got != 4 || r.Length() != 40 {
		t.Fatalf("downloaded %d, length %d", got, r.Length())
	}
	if _, err := st.Block(ctx, 21); !errors.Is(err, ErrNotStored) {
		t.Fatalf("block 21 after the bad one: %v", err)
	}
	again, err := Open(ctx, st, KeyPair{PublicKey: w.Key()})
	if err != nil || again.Length() != 40 {
		t.Fatalf("reopen: %v", err)
	}
}

func TestImportBatchCommitFails(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 10)
	r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
	ds := batchOf(t, w, r, nil, []uint64{0, 1, 2})
	st.CommitHook = func(*Batch) error { return errors.New("disk full") }
	if n, err := r.ImportBatch(ctx, ds); n != 0 || err == nil {
		t.Fatalf("import with a failing commit: %d, %v", n, err)
	}
	if r.Length() != 0 {
		t.Fatalf("length %d after a failed commit", r.Length())
	}
}

// TestDigestWith: with nothing extra it is Digest, for every block of
// every state the proof walk-through goes through.
func TestDigestWith(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 50)
	r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
	none := func(uint64) bool { return false }
	for _, i := range []uint64{49, 0, 17, 18, 30, 3} {
		for j := uint64(0); j < 60; j++ {
			if a, b := r.Digest(j), r.DigestWith(j, none, 0); a != b {
				t.Fatalf("block %d: Digest %d, DigestWith %d", j, a, b)
			}
		}
		transfer(t, ctx, w, r, nil, i, false)
	}
}

// TestProofMustReachRoots: a reader that holds the roots already must not
// accept a block whose proof stops short of them (a sibling left out): the
// signature over the stored roots says nothing about the block. Import and
// ImportBatch both refuse it.
func TestProofMustReachRoots(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 64)
	for _, batched := range []bool{false, true} {
		r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
		transfer(t, ctx, w, r, nil, 17, false) // the reader now holds root 63
		d := cloneData(fullProof(t, w, 3, 0))  // up to the roots, signed
		d.Nodes = d.Nodes[1:]                  // leave out the leaf's sibling
		d.Value[0] ^= 1                        // and change the block
		var err error
		if batched {
			_, err = r.ImportBatch(ctx, []Data{d})
		} else {
			err = r.Import(ctx, d)
		}
		if !errors.Is(err, ErrVerify) {
			t.Fatalf("batched %v: import of a proof that stops short: %v", batched, err)
		}
		if has, _ := r.Has(ctx, 3); has {
			t.Fatalf("batched %v: unverified block stored", batched)
		}
	}
}

// TestImportBatchRandom imports random batches of blocks, some with a
// proof node left out, with stale digests: whatever is refused, what is
// stored always audits.
func TestImportBatchRandom(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := newWriter(t, 64)
		r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
		for range 4 {
			var ds []Data
			for range 1 + rng.IntN(12) {
				d := fullProof(t, w, uint64(rng.IntN(64)), 0)
				d.Nodes = slices.Clone(d.Nodes)
				if rng.IntN(4) == 0 && len(d.Nodes) > 0 {
					d.Nodes = d.Nodes[1:]
				}
				ds = append(ds, d)
			}
			for len(ds) > 0 {
				n, _ := r.ImportBatch(ctx, ds)
				if rep, err := r.Audit(ctx); err != nil {
					t.Fatalf("seed %d: audit after a batch: %+v, %v", seed, rep, err)
				}
				ds = ds[min(n+1, len(ds)):]
			}
		}
	}
}

// TestHashLeaf: a leaf hashed ahead counts only for the value and index it
// was hashed from. A Data whose Value was replaced since, or whose Index
// was, is hashed again and refused when it does not verify; one left as it
// was imports.
func TestHashLeaf(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 4)
	r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
	remote := NewRemoteTree()
	ds := batchOf(t, w, r, remote, []uint64{0, 1, 2, 3})
	for i := range ds {
		ds[i].HashLeaf()
	}
	swapped := ds[1]
	swapped.Value = append([]byte(nil), ds[1].Value...)
	swapped.Value[0] ^= 1
	if err := r.Import(ctx, swapped); !errors.Is(err, ErrVerify) {
		t.Fatalf("import of a value replaced after HashLeaf: %v, want ErrVerify", err)
	}
	moved := ds[2]
	moved.Index = 3
	if err := r.Import(ctx, moved); !errors.Is(err, ErrVerify) {
		t.Fatalf("import of an index replaced after HashLeaf: %v, want ErrVerify", err)
	}
	if n, err := r.ImportBatch(ctx, ds); n != len(ds) || err != nil {
		t.Fatalf("import of hashed Data: %d, %v", n, err)
	}
	if rep, err := r.Audit(ctx); err != nil || rep.Blocks != 4 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}
