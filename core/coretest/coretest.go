// Package coretest is the conformance suite every core.Core implementation
// passes: the in-process Hypercore over any Storage, and the remote core of
// package rpc. Implementations call Run from their own tests.
package coretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// Factory makes the cores the suite exercises.
type Factory struct {
	// NewWritable returns a new, empty, writable core. The suite closes it.
	NewWritable func(t *testing.T) core.Core
	// Reopen, if set, closes c and opens the same core again from its
	// storage, so the suite can check that appends persist.
	Reopen func(t *testing.T, c core.Core) core.Core
	// Replica says the cores are sparse readers of a writer elsewhere
	// (appends go to the writer, and return once the reader knows the new
	// length): Writable is false, and a block is stored here, for Has,
	// Downloaded, Info and Audit, once a Get fetched it.
	Replica bool
}

// Run runs every conformance test against cores from f.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"AppendGet", testAppendGet},
		{"EmptyAppend", testEmptyAppend},
		{"BlockTooLarge", testBlockTooLarge},
		{"GetMissing", testGetMissing},
		{"GetWaits", testGetWaits},
		{"Update", testUpdate},
		{"HasDownloaded", testHasDownloaded},
		{"Seek", testSeek},
		{"SignatureRoots", testSignatureRoots},
		{"Info", testInfo},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Reopen", testReopen},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

// RandomBlocks returns n incompressible blocks of size bytes.
func RandomBlocks(n, size int) [][]byte {
	buf := make([]byte, n*size)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	return out
}

func newCore(t *testing.T, f Factory) core.Core {
	t.Helper()
	c := f.NewWritable(t)
	t.Cleanup(func() { c.Close() })
	return c
}

// fetchAll gets every block of a replica, so that it is stored there.
func fetchAll(t *testing.T, f Factory, c core.Core) {
	t.Helper()
	if !f.Replica {
		return
	}
	for i := range c.Length() {
		if _, err := c.Get(context.Background(), i, core.GetOptions{Timeout: 10 * time.Second}); err != nil {
			t.Fatalf("fetch block %d: %v", i, err)
		}
	}
}

func mustAppend(t *testing.T, c core.Core, blocks ...[]byte) uint64 {
	t.Helper()
	n, err := c.Append(context.Background(), blocks...)
	if err != nil {
		t.Fatalf("append %d blocks: %v", len(blocks), err)
	}
	return n
}

func mustGet(t *testing.T, c core.Core, i uint64, want []byte) {
	t.Helper()
	got, err := c.Get(context.Background(), i, core.GetOptions{NoWait: true})
	if err != nil {
		t.Fatalf("get %d: %v", i, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %d: %d bytes differ from the %d appended", i, len(got), len(want))
	}
}

func testAppendGet(t *testing.T, f Factory) {
	c := newCore(t, f)
	if c.Writable() == f.Replica || c.Length() != 0 || c.ByteLength() != 0 {
		t.Fatalf("new core: writable %v length %d byteLength %d", c.Writable(), c.Length(), c.ByteLength())
	}
	if c.Key().DiscoveryKey() != c.DiscoveryKey() {
		t.Fatal("discovery key does not derive from the key")
	}
	blocks := append(RandomBlocks(5, 100), []byte{}, []byte("x"))
	if n := mustAppend(t, c, blocks[0]); n != 1 {
		t.Fatalf("length after one append = %d", n)
	}
	if n := mustAppend(t, c, blocks[1:]...); n != uint64(len(blocks)) {
		t.Fatalf("length after batch = %d, want %d", n, len(blocks))
	}
	if c.Length() != 7 || c.ByteLength() != 501 {
		t.Fatalf("length %d byteLength %d, want 7 and 501", c.Length(), c.ByteLength())
	}
	fetchAll(t, f, c)
	for i, b := range blocks {
		mustGet(t, c, uint64(i), b)
	}
}

func testEmptyAppend(t *testing.T, f Factory) {
	c := newCore(t, f)
	mustAppend(t, c, []byte("a"))
	if n := mustAppend(t, c); n != 1 {
		t.Fatalf("appending nothing gave length %d", n)
	}
}
