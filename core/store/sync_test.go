package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hspd/hsp/core"
)

// powerLoss returns the filesystem as a power loss now would leave it:
// only what was synced.
func powerLoss(fs *vfs.MemFS) *vfs.MemFS { return fs.CrashClone(vfs.CrashCloneCfg{}) }

// TestUnsyncedCommitDurableAfterSync checks the seam for imports: a batch
// committed without Sync may be lost in a power loss until Sync returns,
// and survives one after.
func TestUnsyncedCommitDurableAfterSync(t *testing.T) {
	fs, ctx := vfs.NewCrashableMem(), context.Background()
	s := openStore(t, fs, "db", Options{})
	h := openNamed(t, s, "imports")
	st := h.e.st
	b := &core.Batch{Blocks: []core.Block{{Index: 7, Data: []byte("fetched")}}}
	if err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := storedBlock(t, powerLoss(fs), h.Key(), 7); got != nil {
		t.Fatalf("a batch committed without sync was synced anyway: %q", got)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedBlock(t, powerLoss(fs), h.Key(), 7); string(got) != "fetched" {
		t.Fatalf("block after Sync and a power loss: %q", got)
	}
}

// storedBlock reads block index of core key from a copy of a filesystem,
// or nil when it is not stored.
func storedBlock(t *testing.T, fs vfs.FS, key core.Key, index uint64) []byte {
	t.Helper()
	s := openStore(t, fs, "db", Options{})
	defer s.Close()
	rec, err := s.lookup(key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := (&coreStorage{s: s, id: rec.id}).Block(context.Background(), index)
	if errors.Is(err, core.ErrNotStored) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestUnsafeSyncInterval shows the opt-in weaker mode's risk: appends
// return before they are durable and a power loss before the next WAL sync
// loses them; the periodic sync then makes them durable.
func TestUnsafeSyncInterval(t *testing.T) {
	fs, ctx := vfs.NewCrashableMem(), context.Background()
	s := openStore(t, fs, "db", Options{UnsafeSyncInterval: 300 * time.Millisecond})
	h := openNamed(t, s, "fast")
	if _, err := h.Append(ctx, blocksFrom("fast", 0, 5)...); err != nil {
		t.Fatal(err)
	}
	if n := lengthAfter(t, powerLoss(fs), "fast"); n != 0 {
		t.Fatalf("an unsynced append survived a power loss at once (length %d); the test proves nothing", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lengthAfter(t, powerLoss(fs), "fast") != 5 {
		if time.Now().After(deadline) {
			t.Fatal("the periodic WAL sync never made the appends durable")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := errors.Join(s.Close(), s.Close()); err != nil {
		t.Fatalf("close twice: %v", err)
	}
}

func lengthAfter(t *testing.T, fs vfs.FS, name string) uint64 {
	t.Helper()
	s := openStore(t, fs, "db", Options{})
	defer s.Close()
	return openNamed(t, s, name).Length()
}
