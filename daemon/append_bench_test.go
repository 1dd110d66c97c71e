package daemon

import (
	"context"
	"crypto/rand"
	"testing"
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
	cores := newCores(b, d.Paths().Socket, clients)
	blocks := randomBlocks(batch, size)
	b.SetBytes(int64(size * batch))
	spread(b, clients, func(i int) error {
		_, err := cores[i].Append(ctx, blocks...)
		return err
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "blocks/s")
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
