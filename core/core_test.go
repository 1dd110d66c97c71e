package core

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSparseGetWaitsForImport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := newWriter(t, 21)
	r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
	if _, err := r.Get(ctx, 7, GetOptions{NoWait: true}); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("no-wait get on an empty reader: %v", err)
	}
	if _, err := r.Append(ctx, []byte("x")); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("append on a reader: %v", err)
	}
	got := make(chan []byte)
	go func() {
		b, err := r.Get(ctx, 7, GetOptions{})
		if err != nil {
			t.Errorf("waiting get: %v", err)
		}
		got <- b
	}()
	time.Sleep(10 * time.Millisecond)
	transfer(t, ctx, w, r, nil, 3, false) // another block first: the get keeps waiting
	transfer(t, ctx, w, r, nil, 7, false)
	want, _ := w.Get(ctx, 7, GetOptions{})
	if b := <-got; string(b) != string(want) {
		t.Fatalf("waiting get returned %x, want %x", b, want)
	}
	if r.Length() != 21 {
		t.Fatalf("reader learned length %d, want 21", r.Length())
	}
	if _, _, err := r.Seek(ctx, 0); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("seek without the tree nodes: %v, want ErrNotAvailable", err)
	}
}

func TestReaderReopens(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 30)
	r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
	for _, i := range []uint64{29, 0, 17} {
		transfer(t, ctx, w, r, nil, i, false)
	}
	r.Close()
	again, err := Open(ctx, st.Reopen(), KeyPair{PublicKey: w.Key()})
	if err != nil {
		t.Fatal(err)
	}
	if again.Length() != 30 || again.Writable() {
		t.Fatalf("reopened reader: length %d writable %v", again.Length(), again.Writable())
	}
	if n, _ := again.Downloaded(ctx, 0, 30); n != 3 {
		t.Fatalf("reopened reader holds %d blocks, want 3", n)
	}
	if d := again.Digest(17); d != 1 {
		t.Fatalf("digest of a held block after reopen = %d", d)
	}
	if _, err := again.Audit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKeys(t *testing.T) {
	kp := KeyPairFromSeed(make([]byte, 32))
	other := KeyPairFromSeed(append(make([]byte, 31), 1))
	if _, err := ImportKeyPair(kp.PublicKey, other.SecretKey); !errors.Is(err, ErrBadKeyPair) {
		t.Fatalf("import of a mismatched secret: %v", err)
	}
	if _, err := ImportKeyPair(kp.PublicKey, kp.SecretKey[:32]); !errors.Is(err, ErrBadKeyPair) {
		t.Fatalf("import of a 32-byte secret: %v", err)
	}
	for _, s := range []string{kp.PublicKey.String(), "hyper://" + kp.PublicKey.String(), "hyper://" + kp.PublicKey.String() + "/"} {
		if k, err := ParseKey(s); err != nil || k != kp.PublicKey {
			t.Errorf("ParseKey(%q) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("g", 64), kp.PublicKey.String() + "00"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestCommitFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	c, st := newTestCore(t, KeyPairFromSeed(make([]byte, 32)))
	c.Append(ctx, []byte("a"))
	full := errors.New("no space left on device")
	st.CommitHook = func(*Batch) error { return full }
	if _, err := c.Append(ctx, []byte("b"), []byte("c")); !errors.Is(err, full) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if c.Length() != 1 || c.ByteLength() != 1 {
		t.Fatalf("a failed commit changed the core: length %d", c.Length())
	}
	if has, _ := c.Has(ctx, 1); has {
		t.Fatal("a failed commit left block 1 marked")
	}
	st.CommitHook = nil
	if n, err := c.Append(ctx, []byte("b")); err != nil || n != 2 {
		t.Fatalf("append once space returns: %d, %v", n, err)
	}
	if _, err := c.Audit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestGetBeforeRead: GetOptions.BeforeRead runs once the block is stored,
// before the read, once per Get, and its error ends the Get.
func TestGetBeforeRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := newWriter(t, 9)
	r, _ := newTestCore(t, KeyPair{PublicKey: w.Key()})
	var calls atomic.Int32
	count := func(context.Context) error { calls.Add(1); return nil }
	got := make(chan error, 1)
	go func() {
		_, err := r.Get(ctx, 4, GetOptions{BeforeRead: count})
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("BeforeRead ran %d times before the block was stored", n)
	}
	transfer(t, ctx, w, r, nil, 2, false) // another block: still waiting, still not called
	transfer(t, ctx, w, r, nil, 4, false)
	if err := <-got; err != nil {
		t.Fatalf("waiting get: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("BeforeRead ran %d times for one get, want 1", n)
	}
	refuse := errors.New("no room")
	_, err := r.Get(ctx, 4, GetOptions{BeforeRead: func(context.Context) error { return refuse }})
	if !errors.Is(err, refuse) {
		t.Fatalf("get whose BeforeRead failed: %v, want its error", err)
	}
}
