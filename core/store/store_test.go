package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hspd/hsp/core"
)

func TestNamedCoresSurviveRestart(t *testing.T) {
	fs, ctx := vfs.NewMem(), context.Background()
	s := openStore(t, fs, "db", Options{})
	h := openNamed(t, s, "photos")
	key := h.Key()
	if _, err := h.Append(ctx, blocksFrom("photos", 0, 3)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, fs, "db", Options{})
	h = openNamed(t, s, "photos")
	if h.Key() != key || !h.Writable() || h.Length() != 3 || h.Name() != "photos" {
		t.Fatalf("reopened: key %s (want %s) writable %v length %d name %q", h.Key(), key, h.Writable(), h.Length(), h.Name())
	}
	if err := checkCore(ctx, h, "photos", 0); err != nil {
		t.Fatal(err)
	}
}

func TestMasterKeyOption(t *testing.T) {
	master := make([]byte, MasterKeySize)
	for i := range master {
		master[i] = byte(i)
	}
	fs := vfs.NewMem()
	s := openStore(t, fs, "db", Options{MasterKey: master})
	if got := openNamed(t, s, "hello").Key().String(); got != corestoreVectors[1].publicKey {
		t.Fatalf("core hello of a migrated master key: %s, want JS's %s", got, corestoreVectors[1].publicKey)
	}
	s.Close()
	other := bytes.Repeat([]byte{7}, MasterKeySize)
	_, err := Open(context.Background(), "db", Options{FS: fs, MasterKey: other, Fatal: testFatal})
	mustErrIs(t, err, ErrMasterKey, "open with another master key")
}

func TestCreateAndOpenKey(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	h, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Writable() || h.Name() != "" {
		t.Fatalf("new core: writable %v name %q", h.Writable(), h.Name())
	}
	key := h.Key()
	h.Close()
	h, err = s.OpenKey(ctx, key)
	if err != nil || !h.Writable() {
		t.Fatalf("reopen created core by key: %v, writable %v", err, h != nil && h.Writable())
	}
	got, err := s.Lookup(ctx, key.DiscoveryKey())
	if err != nil || got != key {
		t.Fatalf("lookup by discovery key: %s, %v", got, err)
	}
}

func TestOpenKeyRecordsRemoteCore(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	kp, _ := core.GenerateKeyPair(rand.Reader)
	h, err := s.OpenKey(ctx, kp.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if h.Writable() {
		t.Fatal("a core known only by its public key is writable")
	}
	h.Close()
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Key != kp.PublicKey || list[0].Writable {
		t.Fatalf("list after opening a remote key: %+v, %v", list, err)
	}
	if got, err := s.Lookup(ctx, kp.PublicKey.DiscoveryKey()); err != nil || got != kp.PublicKey {
		t.Fatalf("lookup: %s, %v", got, err)
	}
	var unknown core.DiscoveryKey
	_, err = s.Lookup(ctx, unknown)
	mustErrIs(t, err, ErrNotFound, "lookup of an unknown discovery key")
}

func TestOpenKeyThenNameMakesWritable(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	kp, _ := DeriveKeyPair(s.master, []byte("later"))
	h, err := s.OpenKey(ctx, kp.PublicKey)
	if err != nil || h.Writable() {
		t.Fatalf("open by key before the name is known: %v", err)
	}
	h.Close()
	if h = openNamed(t, s, "later"); !h.Writable() || h.Key() != kp.PublicKey {
		t.Fatalf("open by name: writable %v key %s", h.Writable(), h.Key())
	}
}

func TestList(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	want := map[core.Key]Info{}
	for i, n := range []int{0, 1, 5} {
		name := fmt.Sprintf("core-%d", i)
		h := openNamed(t, s, name)
		blocks := blocksFrom(name, 0, n)
		if _, err := h.Append(ctx, blocks...); err != nil {
			t.Fatal(err)
		}
		info := Info{Key: h.Key(), DiscoveryKey: h.DiscoveryKey(), Length: uint64(n), ByteLength: h.ByteLength(), Writable: true, Name: name}
		want[h.Key()] = info
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != len(want) {
		t.Fatalf("list: %d cores, %v; want %d", len(list), err, len(want))
	}
	for i, got := range list {
		if got != want[got.Key] {
			t.Errorf("list[%d] = %+v, want %+v", i, got, want[got.Key])
		}
		if i > 0 && bytes.Compare(list[i-1].Key[:], got.Key[:]) >= 0 {
			t.Errorf("list not ordered by key at %d", i)
		}
	}
}

func TestDelete(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	h := openNamed(t, s, "gone")
	keep := openNamed(t, s, "kept")
	for _, c := range []*Handle{h, keep} {
		if _, err := c.Append(ctx, blocksFrom(c.Name(), 0, 20)...); err != nil {
			t.Fatal(err)
		}
	}
	key, rec := h.Key(), h.e.rec
	mustErrIs(t, s.Delete(ctx, key), ErrInUse, "delete an open core")
	h.Close()
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	mustErrIs(t, s.Delete(ctx, key), ErrNotFound, "delete twice")
	if n := countKeys(t, s, rec.id); n != 0 {
		t.Fatalf("%d keys of the deleted core remain", n)
	}
	_, err := s.Lookup(ctx, key.DiscoveryKey())
	mustErrIs(t, err, ErrNotFound, "lookup of a deleted core")
	if list, _ := s.List(ctx); len(list) != 1 || list[0].Key != keep.Key() {
		t.Fatalf("list after delete: %+v", list)
	}
	if err := checkCore(ctx, keep, "kept", 0); err != nil {
		t.Fatalf("the other core after a delete: %v", err)
	}
	if h = openNamed(t, s, "gone"); h.Length() != 0 || h.e.rec.id == rec.id {
		t.Fatalf("recreated core: length %d id %d (old id %d)", h.Length(), h.e.rec.id, rec.id)
	}
}

// countKeys counts the keys stored under core id.
func countKeys(t *testing.T, s *Store, id uint64) int {
	lower, upper := coreBounds(id)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	return n
}

func TestOpenTwiceSharesOneCore(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	a, b := openNamed(t, s, "shared"), openNamed(t, s, "shared")
	if a.Hypercore != b.Hypercore {
		t.Fatal("two opens of one core gave two independent cores")
	}
	if _, err := a.Append(ctx, blockAt("shared", 0)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close() // a second Close of one handle must not release another's reference
	if _, err := b.Append(ctx, blockAt("shared", 1)); err != nil {
		t.Fatalf("append through the remaining handle: %v", err)
	}
	b.Close()
	_, err := b.Append(ctx, blockAt("shared", 2))
	mustErrIs(t, err, core.ErrClosed, "append after the last handle closed")
	c := openNamed(t, s, "shared")
	if c.Hypercore == b.Hypercore || c.Length() != 2 {
		t.Fatalf("open after close: same core %v, length %d", c.Hypercore == b.Hypercore, c.Length())
	}
}

// TestConcurrentOpenAppendClose races opens, appends and closes of one
// core: no append may be lost or forked by a second writer.
func TestConcurrentOpenAppendClose(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	const workers, each = 6, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				h, err := s.OpenNamed(ctx, "busy")
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := h.Append(ctx, []byte("x")); err != nil {
					t.Error(err)
				}
				h.Close()
			}
		}()
	}
	wg.Wait()
	h := openNamed(t, s, "busy")
	if r, err := h.Audit(ctx); err != nil || h.Length() != workers*each || r.Blocks != workers*each {
		t.Fatalf("length %d after %d appends; audit %+v, %v", h.Length(), workers*each, r, err)
	}
}

func TestStoreCloseClosesCores(t *testing.T) {
	s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
	h := openNamed(t, s, "a")
	if _, err := h.Append(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := h.Append(ctx, []byte("b"))
	mustErrIs(t, err, core.ErrClosed, "append after the store closed")
	_, err = h.Get(ctx, 0, core.GetOptions{})
	mustErrIs(t, err, core.ErrClosed, "get after the store closed")
	_, err = s.OpenNamed(ctx, "a")
	mustErrIs(t, err, ErrClosed, "open after the store closed")
	h.Close()
}

func TestStoredKeyLayout(t *testing.T) {
	s := openStore(t, vfs.NewMem(), "db", Options{})
	h := openNamed(t, s, "layout")
	if _, err := h.Append(context.Background(), []byte("abc")); err != nil {
		t.Fatal(err)
	}
	got := hex.EncodeToString(storedKey(t, s, h.Key(), kindBlock, 0))
	if want := "63" + "0000000000000001" + "62" + "0000000000000000"; got != want {
		t.Fatalf("key of block 0 of the first core: %s, want %s", got, want)
	}
}

func TestOpenLockedDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	openStore(t, vfs.Default, dir, Options{})
	if s, err := Open(context.Background(), dir, Options{Fatal: testFatal}); err == nil {
		s.Close()
		t.Fatal("a second store opened the same directory")
	}
}

func TestOtherLayoutVersionRefused(t *testing.T) {
	fs := vfs.NewMem()
	s := openStore(t, fs, "db", Options{})
	if err := s.db.Set(metaKey(prefixVersion), []byte{0, 0, 0, 0, 0, 0, 0, 1}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), "db", Options{FS: fs, Fatal: testFatal})
	if err == nil || !strings.Contains(err.Error(), "layout version 1") {
		t.Fatalf("open a store of layout version 1: %v", err)
	}
}

func TestAppendBlockReadsIntoTheCallersBuffer(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, vfs.NewMem(), "db", Options{})
	h := openNamed(t, s, "a")
	blocks := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte{9}, 5000)}
	if _, err := h.Append(ctx, blocks...); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 8192)
	for i, want := range blocks {
		got, err := h.AppendBlock(ctx, buf[:0], uint64(i))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("block %d: %q, %v", i, got, err)
		}
		if len(want) > 0 && &got[0] != &buf[:1][0] {
			t.Fatalf("block %d was not read into the buffer given", i)
		}
	}
	if _, err := h.AppendBlock(ctx, nil, 3); !errors.Is(err, core.ErrNotAvailable) {
		t.Fatalf("missing block: %v", err)
	}
}
