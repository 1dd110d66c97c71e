package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// diskUsage is what du counts for the files of dir: allocated blocks, so
// preallocated space too.
func diskUsage(t testing.TB, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestFreshStoreSize: a new store with two appended blocks takes a few MB
// on disk, not the ~70 MiB pebble preallocates for a WAL by default (110 %
// of the memtable size).
func TestFreshStoreSize(t *testing.T) {
	dir, ctx := t.TempDir(), context.Background()
	s := openStore(t, vfs.Default, dir, Options{})
	h := openNamed(t, s, "fresh")
	for i := range uint64(2) {
		if _, err := h.Append(ctx, blockAt("fresh", i)); err != nil {
			t.Fatal(err)
		}
	}
	open := diskUsage(t, dir)
	s.Close()
	closed := diskUsage(t, dir)
	t.Logf("fresh store with two blocks: %d bytes on disk while open, %d after close", open, closed)
	const limit = 8 << 20
	if open > limit || closed > limit {
		t.Fatalf("fresh store with two blocks takes %d bytes on disk while open, %d after close; want at most %d", open, closed, limit)
	}
}
