package core

import (
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// Benchmarks use incompressible pseudo-random blocks. The ceilings (BLAKE2b
// over the same bytes, Ed25519 sign and verify) run in the same process so
// that ratios, not absolute figures, are compared.

func randomBlocks(n, size int) [][]byte {
	r := rand.NewChaCha8([32]byte{7})
	buf := make([]byte, n*size)
	r.Read(buf)
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	return out
}

func benchAppend(b *testing.B, size, perCall int) {
	ctx := context.Background()
	c, _ := newTestCore(b, KeyPairFromSeed(make([]byte, 32)))
	blocks := randomBlocks(perCall*64, size)
	b.SetBytes(int64(size * perCall))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := (i * perCall) % len(blocks)
		if _, err := c.Append(ctx, blocks[j:j+perCall]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "blocks/s")
}

func BenchmarkAppend1KiB(b *testing.B)      { benchAppend(b, 1024, 1) }
func BenchmarkAppend1KiBx100(b *testing.B)  { benchAppend(b, 1024, 100) }
func BenchmarkAppend64KiB(b *testing.B)     { benchAppend(b, 64<<10, 1) }
func BenchmarkAppend64KiBx100(b *testing.B) { benchAppend(b, 64<<10, 100) }

const benchBlocks = 10000

func benchWriter(b *testing.B) *Hypercore {
	w, _ := newTestCore(b, KeyPairFromSeed(make([]byte, 32)))
	blocks := randomBlocks(benchBlocks, 1024)
	for i := 0; i < benchBlocks; i += 100 {
		if _, err := w.Append(context.Background(), blocks[i:i+100]...); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// BenchmarkDigestProof: a reader that holds the roots computes the digest
// of a random block and the writer builds its proof.
func BenchmarkDigestProof(b *testing.B) {
	ctx := context.Background()
	w := benchWriter(b)
	r, _ := newTestCore(b, KeyPair{PublicKey: w.Key()})
	transfer(b, ctx, w, r, nil, benchBlocks-1, false)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		i := rng.Uint64N(benchBlocks)
		if _, err := w.Proof(ctx, i, r.Digest(i), false, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// recordReplication replays a whole download of the writer by a reader that
// asks in order, with digests or with digest 0, and returns the messages.
func recordReplication(b *testing.B, w *Hypercore, digests bool) []Data {
	ctx := context.Background()
	r, _ := newTestCore(b, KeyPair{PublicKey: w.Key()})
	out := make([]Data, 0, benchBlocks)
	for i := range uint64(benchBlocks) {
		d := uint64(0)
		if digests {
			d = r.Digest(i)
		}
		p, err := w.Proof(ctx, i, d, false, NewRemoteTree())
		if err != nil {
			b.Fatal(err)
		}
		v, _ := w.Get(ctx, i, GetOptions{NoWait: true})
		data := Data{Index: i, Value: v, Nodes: p.Nodes, Signature: p.Signature}
		if err := r.Import(ctx, data); err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// BenchmarkVerifyImport imports, in order, the proofs a reader that sends
// digests receives (mostly a few nodes, rarely a signature): replication's
// steady state.
func BenchmarkVerifyImport(b *testing.B) {
	ctx := context.Background()
	w := benchWriter(b)
	msgs := recordReplication(b, w, true)
	b.SetBytes(1024)
	var r *Hypercore
	for i := 0; b.Loop(); i++ {
		if i%benchBlocks == 0 {
			b.StopTimer()
			r, _ = newTestCore(b, KeyPair{PublicKey: w.Key()})
			b.StartTimer()
		}
		if err := r.Import(ctx, msgs[i%benchBlocks]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyImportFull imports a full proof (digest 0: the path, the
// roots and a signature) into an empty reader each time, so every import
// hashes the path and verifies the signature.
func BenchmarkVerifyImportFull(b *testing.B) {
	ctx := context.Background()
	w := benchWriter(b)
	msgs := recordReplication(b, w, false)
	readers := make([]*Hypercore, 1000)
	b.SetBytes(1024)
	for i := 0; b.Loop(); i++ {
		if i%len(readers) == 0 {
			b.StopTimer()
			for j := range readers {
				readers[j], _ = newTestCore(b, KeyPair{PublicKey: w.Key()})
			}
			b.StartTimer()
		}
		if err := readers[i%len(readers)].Import(ctx, msgs[(i*7919)%benchBlocks]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBlake2b(b *testing.B, size int) {
	data := randomBlocks(1, size)[0]
	b.SetBytes(int64(size))
	for b.Loop() {
		blake2b.Sum256(data)
	}
}

func BenchmarkCeilingBlake2b1KiB(b *testing.B)  { benchBlake2b(b, 1024) }
func BenchmarkCeilingBlake2b64KiB(b *testing.B) { benchBlake2b(b, 64<<10) }

func BenchmarkCeilingEd25519Sign(b *testing.B) {
	sk := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := make([]byte, SignableSize)
	for b.Loop() {
		ed25519.Sign(sk, msg)
	}
}

func BenchmarkCeilingEd25519Verify(b *testing.B) {
	sk := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := make([]byte, SignableSize)
	sig := ed25519.Sign(sk, msg)
	pk := sk.Public().(ed25519.PublicKey)
	for b.Loop() {
		ed25519.Verify(pk, msg, sig)
	}
}
