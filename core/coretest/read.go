package coretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

func testBlockTooLarge(t *testing.T, f Factory) {
	c := newCore(t, f)
	big := make([]byte, core.MaxBlockSize+1)
	_, err := c.Append(context.Background(), []byte("ok"), big)
	if !errors.Is(err, core.ErrBlockTooLarge) {
		t.Fatalf("append of %d bytes: %v, want ErrBlockTooLarge", len(big), err)
	}
	if c.Length() != 0 {
		t.Fatalf("a refused batch left length %d", c.Length())
	}
	if n := mustAppend(t, c, make([]byte, core.MaxBlockSize)); n != 1 {
		t.Fatalf("a block of exactly 8 MiB: length %d", n)
	}
}

func testGetMissing(t *testing.T, f Factory) {
	c := newCore(t, f)
	mustAppend(t, c, []byte("a"))
	ctx := context.Background()
	if _, err := c.Get(ctx, 1, core.GetOptions{NoWait: true}); !errors.Is(err, core.ErrNotAvailable) {
		t.Fatalf("get past the end without waiting: %v, want ErrNotAvailable", err)
	}
	_, err := c.Get(ctx, 1, core.GetOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get with timeout: %v, want DeadlineExceeded", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if _, err := c.Get(cctx, 5, core.GetOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with cancelled context: %v, want Canceled", err)
	}
}

func testGetWaits(t *testing.T, f Factory) {
	c := newCore(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		b, err := c.Get(ctx, 1, core.GetOptions{})
		got <- b
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	mustAppend(t, c, []byte("zero"), []byte("one"))
	if b := <-got; string(b) != "one" {
		t.Fatalf("waiting get returned %q, %v", b, <-errc)
	}
}

func testUpdate(t *testing.T, f Factory) {
	c := newCore(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan uint64, 1)
	go func() {
		n, err := c.Update(ctx, 3)
		if err != nil {
			t.Errorf("update: %v", err)
		}
		done <- n
	}()
	mustAppend(t, c, []byte("a"))
	mustAppend(t, c, []byte("b"), []byte("c"))
	if n := <-done; n < 3 {
		t.Fatalf("update returned length %d, want at least 3", n)
	}
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if _, err := c.Update(short, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("update past the end: %v, want DeadlineExceeded", err)
	}
}

func testHasDownloaded(t *testing.T, f Factory) {
	c := newCore(t, f)
	mustAppend(t, c, RandomBlocks(10, 8)...)
	fetchAll(t, f, c)
	ctx := context.Background()
	for i, want := range map[uint64]bool{0: true, 9: true, 10: false, 1 << 40: false} {
		if got, err := c.Has(ctx, i); err != nil || got != want {
			t.Errorf("has(%d) = %v, %v; want %v", i, got, err, want)
		}
	}
	if n, err := c.Downloaded(ctx, 2, 20); err != nil || n != 8 {
		t.Errorf("downloaded(2, 20) = %d, %v; want 8", n, err)
	}
}

func testSeek(t *testing.T, f Factory) {
	c := newCore(t, f)
	sizes := []int{5, 0, 3, 10, 0, 0, 1, 7, 100, 2, 2}
	var blocks [][]byte
	for _, s := range sizes {
		blocks = append(blocks, make([]byte, s))
	}
	mustAppend(t, c, blocks...)
	ctx := context.Background()
	var pos uint64
	for i, s := range sizes {
		for j := range uint64(s) {
			idx, off, err := c.Seek(ctx, pos+j)
			if err != nil || idx != uint64(i) || off != j {
				t.Fatalf("seek(%d) = %d, %d, %v; want %d, %d", pos+j, idx, off, err, i, j)
			}
		}
		pos += uint64(s)
	}
	if _, _, err := c.Seek(ctx, pos); !errors.Is(err, core.ErrOutOfRange) {
		t.Fatalf("seek past the end: %v, want ErrOutOfRange", err)
	}
}

func testSignatureRoots(t *testing.T, f Factory) {
	c := newCore(t, f)
	ctx := context.Background()
	mustAppend(t, c, RandomBlocks(3, 10)...)
	mustAppend(t, c, RandomBlocks(4, 10)...)
	for i := range c.Length() {
		sig, err := c.Signature(ctx, i)
		if err != nil {
			t.Fatalf("signature(%d): %v", i, err)
		}
		want := uint64(3)
		if i >= 3 {
			want = 7
		}
		if sig.Length != want {
			t.Fatalf("signature(%d) covers length %d, want %d", i, sig.Length, want)
		}
		roots, err := c.RootHashes(ctx, sig.Length-1)
		if err != nil {
			t.Fatalf("root hashes(%d): %v", sig.Length-1, err)
		}
		if !core.VerifyRoots(c.Key(), roots, sig.Length, sig.Signature) {
			t.Fatalf("signature for length %d does not verify over its roots", sig.Length)
		}
	}
	if _, err := c.Signature(ctx, 7); !errors.Is(err, core.ErrOutOfRange) {
		t.Fatalf("signature past the end: %v", err)
	}
}

func testInfo(t *testing.T, f Factory) {
	c := newCore(t, f)
	mustAppend(t, c, RandomBlocks(4, 25)...)
	fetchAll(t, f, c)
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := core.Info{Key: c.Key(), DiscoveryKey: c.DiscoveryKey(), Length: 4, ByteLength: 100, Writable: !f.Replica, Downloaded: 4}
	if info != want {
		t.Fatalf("info = %+v, want %+v", info, want)
	}
}
