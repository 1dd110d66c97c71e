package daemon

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/hspd/hsp/rpc"
)

// BenchmarkDaemonAppend1KiB: one client appends 1 KiB blocks one per call
// to a real daemon over its unix socket, every call durable.
func BenchmarkDaemonAppend1KiB(b *testing.B) { benchDaemonAppend(b, 1, 1024, 1) }

// BenchmarkDaemonAppend1KiBx8: eight clients, each its own connection and
// core, appending 1 KiB one per call concurrently.
func BenchmarkDaemonAppend1KiBx8(b *testing.B) { benchDaemonAppend(b, 8, 1024, 1) }

// BenchmarkDaemonAppend1KiBx100: 100 blocks of 1 KiB per call.
func BenchmarkDaemonAppend1KiBx100(b *testing.B) { benchDaemonAppend(b, 1, 1024, 100) }

// BenchmarkDaemonAppend64KiBx100: 100 blocks of 64 KiB per call.
func BenchmarkDaemonAppend64KiBx100(b *testing.B) { benchDaemonAppend(b, 1, 64<<10, 100) }

func benchDaemonAppend(b *testing.B, clients, size, batch int) {
	ctx := context.Background()
	d := startBenchDaemon(b)
	cores := make([]*rpc.RemoteCore, clients)
	for i := range cores {
		c, err := rpc.Dial(ctx, d.Paths().Socket)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if cores[i], err = c.Open(ctx, rpc.OpenRequest{New: true}); err != nil {
			b.Fatal(err)
		}
	}
	blocks := randomBlocks(batch, size)
	b.SetBytes(int64(size * batch))
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + clients - 1) / clients
	for _, rc := range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if _, err := rc.Append(ctx, blocks...); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*clients*batch)/b.Elapsed().Seconds(), "blocks/s")
}

// randomBlocks is n blocks of size incompressible bytes.
func randomBlocks(n, size int) [][]byte {
	blocks := make([][]byte, n)
	for i := range blocks {
		blocks[i] = make([]byte, size)
		rand.Read(blocks[i])
	}
	return blocks
}
