package store

import (
	crand "crypto/rand"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// Ceilings measured in the same run as the store benchmarks: raw pebble
// writes of the same bytes with the same sync setting, once with pebble's
// default options and once with the store's, and the crypto of an append.

// rawOptions are the two pebble configurations the ceilings use.
var rawOptions = []struct {
	name string
	opts func() *pebble.Options
}{
	{"default-options", func() *pebble.Options { return &pebble.Options{Logger: quietLogger{fatal: testFatal}} }},
	{"store-options", func() *pebble.Options { return Options{Fatal: testFatal}.pebbleOptions() }},
}

func BenchmarkRawPebble(b *testing.B) {
	for _, o := range rawOptions {
		b.Run(o.name+"/1KiB/1-per-batch", func(b *testing.B) { benchRaw(b, o.opts(), 1, 1024) })
		b.Run(o.name+"/1KiB/1-per-batch/8-goroutines", func(b *testing.B) { benchRawParallel(b, o.opts(), 8, 1024) })
		b.Run(o.name+"/1KiB/100-per-batch", func(b *testing.B) { benchRaw(b, o.opts(), 100, 1024) })
		b.Run(o.name+"/64KiB/1-per-batch", func(b *testing.B) { benchRaw(b, o.opts(), 1, 64<<10) })
		b.Run(o.name+"/64KiB/100-per-batch", func(b *testing.B) { benchRaw(b, o.opts(), 100, 64<<10) })
	}
}

func openRaw(b *testing.B, opts *pebble.Options) *pebble.DB {
	db, err := pebble.Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// putBatch writes perBatch values of size bytes under sequential keys in
// one synced batch.
func putBatch(db *pebble.DB, src *blockSource, key *uint64, perBatch, size int) error {
	batch := db.NewBatch()
	defer batch.Close()
	for range perBatch {
		*key++
		batch.Set(binary.BigEndian.AppendUint64(nil, *key), src.next(size), nil)
	}
	return db.Apply(batch, pebble.Sync)
}

func benchRaw(b *testing.B, opts *pebble.Options, perBatch, size int) {
	db, src, key := openRaw(b, opts), newBlockSource(0), uint64(0)
	start, batches := time.Now(), 0
	for b.Loop() {
		if err := putBatch(db, src, &key, perBatch, size); err != nil {
			b.Fatal(err)
		}
		batches++
	}
	reportBlocks(b, batches*perBatch, size, time.Since(start))
}

// benchRawParallel commits b.N single-value synced batches from g
// goroutines: the group-commit ceiling.
func benchRawParallel(b *testing.B, opts *pebble.Options, g, size int) {
	db := openRaw(b, opts)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, key := newBlockSource(i+1), uint64(i)<<40
			for left.Add(-1) >= 0 {
				if err := putBatch(db, src, &key, 1, size); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	reportBlocks(b, b.N, size, time.Since(start))
}

// BenchmarkBlake2b hashes blocks into leaf nodes, as every append does.
func BenchmarkBlake2b(b *testing.B) {
	for _, size := range []int{1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			block := newBlockSource(0).next(size)
			b.SetBytes(int64(size))
			for b.Loop() {
				core.LeafNode(0, block)
			}
		})
	}
}

// BenchmarkEd25519 signs and verifies the roots of a core, as every append
// and every import that reaches the roots does.
func BenchmarkEd25519(b *testing.B) {
	kp, _ := core.GenerateKeyPair(crand.Reader)
	roots := []core.Node{core.LeafNode(0, []byte("root"))}
	sig := core.Sign(kp.SecretKey, roots, 1)
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			core.Sign(kp.SecretKey, roots, 1)
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			core.VerifyRoots(kp.PublicKey, roots, 1, sig)
		}
	})
}

func sizeName(size int) string {
	if size%1024 == 0 {
		return strconv.Itoa(size/1024) + "KiB"
	}
	return strconv.Itoa(size) + "B"
}
