package daemon

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/hspd/hsp/rpc"
)

// BenchmarkDaemonReplicate: daemon B downloads A's 10,000 × 1 KiB core
// (incompressible) over TCP on 127.0.0.1, durably, through the RPC as
// `hsp replicate` asks for it; a fresh B each iteration.
func BenchmarkDaemonReplicate(b *testing.B) { benchDaemonReplicate(b, 10000, 1<<10) }

// BenchmarkDaemonReplicate64K is BenchmarkDaemonReplicate with 2,000 ×
// 64 KiB blocks, the shape bound by B's synced import.
func BenchmarkDaemonReplicate64K(b *testing.B) { benchDaemonReplicate(b, 2000, 64<<10) }

func benchDaemonReplicate(b *testing.B, n, size int) {
	ctx := context.Background()
	da := startBenchDaemon(b)
	ca := dialBench(b, da)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	per := max(1, min(1000, (4<<20)/size)) // blocks per append: at most 4 MiB
	for i := 0; i < n; i += per {
		blocks := make([][]byte, min(per, n-i))
		for k := range blocks {
			blocks[k] = make([]byte, size)
			rng.Read(blocks[k])
		}
		if _, err := wa.Append(ctx, blocks...); err != nil {
			b.Fatal(err)
		}
	}
	key := wa.Key()
	addr := da.SwarmAddr().String()
	b.SetBytes(int64(n * size))
	for b.Loop() {
		b.StopTimer()
		db := startBenchDaemon(b)
		cb := dialBench(b, db)
		rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		conn, err := cb.Connect(ctx, addr)
		if err != nil {
			b.Fatal(err)
		}
		dl, err := rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := dl.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		conn.Close(ctx)
		cb.Close()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "blocks/s")
}

func startBenchDaemon(b *testing.B) *Daemon {
	d, err := New(Options{Home: b.TempDir(), SwarmHost: "127.0.0.1", SwarmPort: 0, Bootstrap: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func dialBench(b *testing.B, d *Daemon) *rpc.Client {
	c, err := rpc.Dial(context.Background(), d.Paths().Socket)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	// start the swarm now, so that A listens before B connects
	c.Connect(context.Background(), "127.0.0.1:1")
	return c
}
