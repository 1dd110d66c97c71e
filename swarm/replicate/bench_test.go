package replicate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// Benchmarks over incompressible blocks:
//
//	BenchmarkImport/<shape>/{batched,single}/{memory,durable}: the
//	    in-process ceiling, only verify + import of the Data messages a
//	    download receives (recorded from a real download over TCP, batch
//	    by batch, with the proofs its digests asked for), into
//	    MemoryStorage or into the
//	    fsyncing logStorage (where one-by-one imports only the first 500
//	    blocks: blocks/s is the figure to compare);
//	BenchmarkTCP/<shape>: a full Go -> Go download over TCP on 127.0.0.1,
//	    reported also as ceiling-ratio, the batched ceiling's time over this.
//
// MemoryStorage copies every block into fresh memory, and on some machines
// first touching that memory dominates: the sub-benchmark that runs first
// in a process pays for it. Compare modes each in a process of its own
// (-bench 'Import/10000x1KiB/batched/memory$' and so on).
var shapes = []struct {
	n, size int
}{{10000, 1 << 10}, {2000, 64 << 10}}

func shapeName(n, size int) string { return fmt.Sprintf("%dx%dKiB", n, size>>10) }

// randomWriter makes a core of n incompressible blocks, appended 16 at a time.
func randomWriter(b testing.TB, n, size int) *core.Hypercore {
	kp := core.KeyPairFromSeed(make([]byte, 32))
	w := openCore(b, kp, core.NewMemoryStorage())
	rng := rand.NewChaCha8([32]byte{1})
	for i := 0; i < n; i += 16 {
		blocks := make([][]byte, min(16, n-i))
		for k := range blocks {
			blocks[k] = make([]byte, size)
			rng.Read(blocks[k])
		}
		if _, err := w.Append(context.Background(), blocks...); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// recorder is a reader's core that keeps a copy of every batch the
// replicator imports into it.
type recorder struct {
	*core.Hypercore
	mu      sync.Mutex
	batches [][]core.Data
}

func (r *recorder) ImportBatch(ctx context.Context, ds []core.Data) (int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(ds))
	r.mu.Unlock()
	return r.Hypercore.ImportBatch(ctx, ds)
}

// recordBatches is what a reader downloading all of w over TCP imports,
// batch by batch, with the proofs its digests asked for: the ceiling
// verifies and stores the very messages a real download does.
func recordBatches(b testing.TB, w *core.Hypercore) [][]core.Data {
	rw := New(Options{})
	defer rw.Close()
	rw.Add(w, CoreOptions{})
	rec := &recorder{Hypercore: newReader(b, w.Key())}
	rr := New(Options{})
	defer rr.Close()
	h := rr.Add(rec, CoreOptions{})
	ca, cb := tcpPlain(b)
	sa, sb := handshake(b, ca, cb)
	defer sa.Close()
	defer sb.Close()
	go rw.Run(context.Background(), sb)
	go rr.Run(context.Background(), sa)
	if err := h.Download(context.Background(), 0, w.Length()); err != nil {
		b.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.batches
}

func importAll(b testing.TB, key core.Key, batches [][]core.Data, batched bool) {
	importInto(b, core.NewMemoryStorage(), key, batches, batched)
}

// importInto imports batches into a core on st, batch by batch or one
// message at a time.
func importInto(b testing.TB, st core.Storage, key core.Key, batches [][]core.Data, batched bool) {
	ctx := context.Background()
	r := openCore(b, core.KeyPair{PublicKey: key}, st)
	for _, batch := range batches {
		if batched {
			if n, err := r.ImportBatch(ctx, batch); err != nil || n != len(batch) {
				b.Fatal(n, err)
			}
			continue
		}
		for _, d := range batch {
			if err := r.Import(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
	r.Close()
}

func BenchmarkImport(b *testing.B) {
	for _, sh := range shapes {
		w := randomWriter(b, sh.n, sh.size)
		batches := recordBatches(b, w)
		for _, mode := range []string{"batched", "single"} {
			b.Run(shapeName(sh.n, sh.size)+"/"+mode+"/memory", func(b *testing.B) {
				b.SetBytes(int64(sh.n * sh.size))
				for b.Loop() {
					importAll(b, w.Key(), batches, mode == "batched")
				}
				b.ReportMetric(float64(sh.n)*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
			})
			b.Run(shapeName(sh.n, sh.size)+"/"+mode+"/durable", func(b *testing.B) {
				part := batches
				if mode == "single" {
					part = firstBlocks(batches, 500)
				}
				blocks := 0
				for _, batch := range part {
					blocks += len(batch)
				}
				b.SetBytes(int64(blocks * sh.size))
				for b.Loop() {
					st, err := openLog(filepath.Join(b.TempDir(), "core.log"))
					if err != nil {
						b.Fatal(err)
					}
					importInto(b, st, w.Key(), part, mode == "batched")
				}
				b.ReportMetric(float64(blocks)*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
			})
		}
	}
}

// firstBlocks is the first n messages of batches.
func firstBlocks(batches [][]core.Data, n int) [][]core.Data {
	var out [][]core.Data
	for _, batch := range batches {
		if n <= 0 {
			break
		}
		batch = batch[:min(n, len(batch))]
		n -= len(batch)
		out = append(out, batch)
	}
	return out
}

// ceiling times one batched in-process import of batches.
func ceiling(b *testing.B, key core.Key, batches [][]core.Data) time.Duration {
	start := time.Now()
	importAll(b, key, batches, true)
	return time.Since(start)
}

// BenchmarkTCP times full downloads over TCP; each iteration also times
// the in-process ceiling for the same blocks right before, so that both
// see the same machine load, and ceiling-ratio is their ratio of sums.
func BenchmarkTCP(b *testing.B) {
	for _, sh := range shapes {
		for _, buffered := range []bool{false, true} {
			name := shapeName(sh.n, sh.size) + map[bool]string{false: "/plain", true: "/buffered"}[buffered]
			b.Run(name, func(b *testing.B) { benchTCP(b, sh.n, sh.size, buffered) })
		}
	}
}

// benchTCP runs BenchmarkTCP for one shape, over plain or buffered
// connections (BufferedConn).
func benchTCP(b *testing.B, n, size int, buffered bool) {
	w := randomWriter(b, n, size)
	batches := recordBatches(b, w)
	rw := New(Options{})
	defer rw.Close()
	rw.Add(w, CoreOptions{})
	b.SetBytes(int64(n * size))
	var total, limit time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		limit += ceiling(b, w.Key(), batches)
		b.StartTimer()
		total += downloadOnce(b, rw, w, buffered)
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(n)/per.Seconds(), "blocks/s")
	b.ReportMetric(limit.Seconds()/total.Seconds(), "ceiling-ratio")
}

// downloadOnce times one full download of w by a fresh reader over TCP.
func downloadOnce(b *testing.B, rw *Replicator, w *core.Hypercore, buffered bool) time.Duration {
	b.StopTimer()
	r := openCore(b, core.KeyPair{PublicKey: w.Key()}, core.NewMemoryStorage())
	rr := New(Options{})
	h := rr.Add(r, CoreOptions{})
	ca, cb := tcpPlain(b)
	if buffered {
		ca, cb = BufferedConn(ca), BufferedConn(cb)
	}
	sa, sb := handshake(b, ca, cb)
	go rw.Run(context.Background(), sb)
	b.StartTimer()
	start := time.Now()
	go rr.Run(context.Background(), sa)
	if err := h.Download(context.Background(), 0, w.Length()); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	b.StopTimer()
	rr.Close()
	sa.Close()
	sb.Close()
	r.Close()
	b.StartTimer()
	return d
}
