package rpc

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/hspd/hsp/core"
)

// BenchmarkRemoteAppend1KiB measures the RPC's cost per append: the same
// in-memory core appended to directly and through a connection.
func BenchmarkRemoteAppend1KiB(b *testing.B) {
	ctx := context.Background()
	client := pipeClient(&testing.T{}, NewServer(newMemBackend(), ServerOptions{}))
	rc, err := client.Open(ctx, OpenRequest{New: true})
	if err != nil {
		b.Fatal(err)
	}
	block := make([]byte, 1024)
	for b.Loop() {
		if _, err := rc.Append(ctx, block); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalAppend1KiB(b *testing.B) {
	kp := core.KeyPairFromSeed(make([]byte, 32))
	c, _ := core.Open(context.Background(), core.NewMemoryStorage(), kp)
	block := make([]byte, 1024)
	for b.Loop() {
		if _, err := c.Append(context.Background(), block); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRemoteHas(b *testing.B) {
	ctx := context.Background()
	client := pipeClient(&testing.T{}, NewServer(newMemBackend(), ServerOptions{}))
	rc, _ := client.Open(ctx, OpenRequest{New: true})
	for b.Loop() {
		if _, err := rc.Has(ctx, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteAppend64KiBx100 measures a large append call (6.4 MiB of
// incompressible blocks) through a connection: framing, guard and copies.
func BenchmarkRemoteAppend64KiBx100(b *testing.B) {
	ctx := context.Background()
	client := pipeClient(&testing.T{}, NewServer(newMemBackend(), ServerOptions{}))
	rc, err := client.Open(ctx, OpenRequest{New: true})
	if err != nil {
		b.Fatal(err)
	}
	blocks := make([][]byte, 100)
	for i := range blocks {
		blocks[i] = make([]byte, 64<<10)
		rand.Read(blocks[i])
	}
	b.SetBytes(100 << 16)
	for b.Loop() {
		if _, err := rc.Append(ctx, blocks...); err != nil {
			b.Fatal(err)
		}
	}
}
