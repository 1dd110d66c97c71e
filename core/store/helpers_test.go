package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hspd/hsp/core"
)

// testFatal fails loudly if pebble ever reports a fatal error in-process.
func testFatal(msg string) { panic(msg) }

// openStore opens a store for a test and closes it at cleanup.
func openStore(t testing.TB, fs vfs.FS, dir string, opts Options) *Store {
	t.Helper()
	opts.FS = fs
	if opts.Fatal == nil {
		opts.Fatal = testFatal
	}
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openNamed(t testing.TB, s *Store, name string) *Handle {
	t.Helper()
	h, err := s.OpenNamed(context.Background(), name)
	if err != nil {
		t.Fatalf("open core %q: %v", name, err)
	}
	return h
}

// blockAt is the deterministic content of block index of the core named
// name: 1 to 600 incompressible bytes, but every 16th block is 8 to 12
// KiB, large enough for pebble's value separation (blob files).
func blockAt(name string, index uint64) []byte {
	var seed [32]byte
	copy(seed[:], name)
	binary.BigEndian.PutUint64(seed[24:], index)
	r := rand.New(rand.NewChaCha8(seed))
	size := 1 + r.IntN(600)
	if index%16 == 7 {
		size = DefaultValueSeparationMin + r.IntN(4<<10)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// blocksFrom returns n deterministic blocks starting at index start.
func blocksFrom(name string, start uint64, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = blockAt(name, start+uint64(i))
	}
	return out
}

// checkCore audits a core and compares every block from index from on
// with blockAt. Audit already binds older blocks to the signed tree.
func checkCore(ctx context.Context, h *Handle, name string, from uint64) error {
	if _, err := h.Audit(ctx); err != nil {
		return err
	}
	for i := from; i < h.Length(); i++ {
		got, err := h.Get(ctx, i, core.GetOptions{NoWait: true})
		if err != nil {
			return err
		}
		if !bytes.Equal(got, blockAt(name, i)) {
			return fmt.Errorf("core %q block %d: content differs", name, i)
		}
	}
	return nil
}

// corruptValue rewrites one stored value in place, as a bad disk would.
func corruptValue(t testing.TB, s *Store, key []byte, edit func([]byte) []byte) {
	t.Helper()
	v, err := s.get(key)
	if err != nil {
		t.Fatalf("read %x: %v", key, err)
	}
	if err := s.db.Set(key, edit(v), nil); err != nil {
		t.Fatalf("write %x: %v", key, err)
	}
}

// storedKey returns the key of one of a core's values.
func storedKey(t testing.TB, s *Store, key core.Key, kind byte, index uint64) []byte {
	t.Helper()
	rec, err := s.lookup(key)
	if err != nil {
		t.Fatal(err)
	}
	k := make([]byte, coreKeyLen)
	coreKey(k, rec.id, kind, index)
	return k
}

func mustErrIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}
