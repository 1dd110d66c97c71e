package rpc

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// randomBlocks returns incompressible blocks of the given sizes.
func randomBlocks(seed uint64, sizes ...int) [][]byte {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	out := make([][]byte, len(sizes))
	for i, n := range sizes {
		out[i] = make([]byte, n)
		r.Read(out[i])
	}
	return out
}

// TestAppendInParts: an append over PartBytes goes in pipelined parts and
// lands as one append: every block reads back, the tree and signature
// audit, and appends before and after it line up.
func TestAppendInParts(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1}
	for i := range 40 {
		sizes = append(sizes, 64<<10+i*997)
	}
	big := randomBlocks(1, sizes...)
	if cuts := appendParts(big); len(cuts) < 3 {
		t.Fatalf("%d blocks of ~2.5 MiB cut into %d parts, want several", len(big), len(cuts))
	}
	want := append([][]byte{[]byte("first")}, big...)
	want = append(want, []byte("after"))
	if _, err := rc.Append(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Append(ctx, big...); err != nil || n != uint64(1+len(big)) {
		t.Fatalf("append in parts: %d, %v", n, err)
	}
	if n, err := rc.Append(ctx, want[len(want)-1]); err != nil || n != uint64(len(want)) {
		t.Fatalf("append after: %d, %v", n, err)
	}
	for i, b := range want {
		got, err := rc.Get(ctx, uint64(i), core.GetOptions{NoWait: true})
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("block %d: %d bytes, %v; want %d bytes", i, len(got), err, len(b))
		}
	}
	if _, err := rc.Audit(ctx); err != nil {
		t.Fatalf("audit: %v", err)
	}
}

func partErr(f schema.Core_appendPart_Results_Future, release capnp.ReleaseFunc) error {
	defer release()
	_, err := f.Struct()
	return wireErr(err)
}

// TestAppendPartsBounds: parts that add up past append's limits are
// refused as too large; a part never followed by the last one fails after
// PartWait; a session gathers at most Parted appends at once; nothing of a
// refused append is stored, and the connection lives on.
func TestAppendPartsBounds(t *testing.T) {
	ctx := context.Background()
	// PartWait is long enough for the steps below between a first part and
	// its last on a loaded machine, and short enough to wait for once.
	c := limitedPair(t, Limits{Parted: 1, PartWait: time.Second})
	a, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	half := make([][]byte, MaxAppendBlocks/2+1)
	f1, r1 := sendPart(ctx, a.c, half, true, false)
	if err := partErr(sendPart(ctx, a.c, half, false, true)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("parts of %d blocks in all: %v, want ErrTooLarge", 2*len(half), err)
	}
	if err := partErr(f1, r1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("first part of a refused append: %v, want ErrTooLarge", err)
	}

	start := time.Now()
	if err := partErr(sendPart(ctx, a.c, [][]byte{[]byte("lonely")}, true, false)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("a part with no last part: %v, want ErrBadRequest", err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("a part with no last part failed after %v, before PartWait", took)
	}

	// Two appends in parts at once on two cores: calls on two capabilities
	// have no order between them, so either may take the one slot; the
	// other is refused at once, while the first waits for its last part.
	fa, ra := sendPart(ctx, a.c, [][]byte{[]byte("x0")}, true, false)
	fb, rb := sendPart(ctx, b.c, [][]byte{[]byte("x0")}, true, false)
	won, lost := a, b
	wonFirst, wonRelease := fa, ra
	var refused error
	select {
	case <-fb.Done():
		refused = partErr(fb, rb)
	case <-fa.Done():
		won, lost = b, a
		wonFirst, wonRelease = fb, rb
		refused = partErr(fa, ra)
	case <-time.After(10 * time.Second):
		t.Fatal("neither of two appends in parts at once was refused")
	}
	if !errors.Is(refused, ErrLimit) {
		t.Fatalf("a second append in parts at once: %v, want ErrLimit", refused)
	}
	if err := partErr(sendPart(ctx, won.c, [][]byte{[]byte("x1")}, false, true)); err != nil {
		t.Fatalf("last part: %v", err)
	}
	if err := partErr(wonFirst, wonRelease); err != nil {
		t.Fatalf("first part of the append that gathered: %v", err)
	}
	// The refused one's first part failed: its last part, now that a slot
	// is free, must not commit without it.
	if err := partErr(sendPart(ctx, lost.c, [][]byte{[]byte("x1")}, false, true)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("the last part of an append whose first failed: %v, want ErrBadRequest", err)
	}
	if n, err := lost.Append(ctx, []byte("y")); err != nil || n != 1 {
		t.Fatalf("the refused core after the refusal: %d, %v", n, err)
	}
	if n, err := won.Append(ctx, []byte("x2")); err != nil || n != 3 {
		t.Fatalf("the core that gathered holds %d blocks (%v), want x0 x1 x2", n, err)
	}
}

// TestAppendPartsClientGone: a client that sends parts and disconnects
// before the last one stores nothing of them, and the server serves on.
func TestAppendPartsClientGone(t *testing.T) {
	ctx := context.Background()
	srv := NewServer(newMemBackend(), ServerOptions{})
	c1 := pipeClient(t, srv)
	rc, err := c1.Open(ctx, OpenRequest{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	f, release := sendPart(ctx, rc.c, randomBlocks(2, 1000, 2000), true, false)
	time.Sleep(20 * time.Millisecond) // the part arrives and waits
	c1.Close()
	partErr(f, release)
	c2 := pipeClient(t, srv)
	rc2, err := c2.Open(ctx, OpenRequest{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rc2.Append(ctx, []byte("x")); err != nil || n != 1 {
		t.Fatalf("append after the client left: %d, %v (want length 1: nothing of its parts)", n, err)
	}
}

// TestAppendInPartsConcurrent: large appends from several goroutines to
// one RemoteCore do not mix their parts: each lands whole, its blocks in
// order and together.
func TestAppendInPartsConcurrent(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	const writers, blocks, rounds = 8, 40, 3
	start := make(chan struct{})
	done := make(chan error, writers*rounds)
	for w := range writers {
		go func() {
			<-start
			for range rounds {
				batch := make([][]byte, blocks)
				for i := range batch {
					batch[i] = bytes.Repeat([]byte{byte(w), byte(i)}, 24<<10) // 48 KiB
				}
				_, err := rc.Append(ctx, batch...)
				done <- err
			}
		}()
	}
	close(start)
	for range writers * rounds {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for start := uint64(0); start < writers*blocks*rounds; start += blocks {
		first, err := rc.Get(ctx, start, core.GetOptions{NoWait: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range uint64(blocks) {
			b, err := rc.Get(ctx, start+i, core.GetOptions{NoWait: true})
			if err != nil || b[0] != first[0] || b[1] != byte(i) {
				t.Fatalf("block %d: writer %d's block %d, want writer %d's block %d (%v)", start+i, b[0], b[1], first[0], i, err)
			}
		}
	}
	if _, err := rc.Audit(ctx); err != nil {
		t.Fatalf("audit: %v", err)
	}
}

// TestAppendInPartsPastTheLimit: appends in parts to more cores at once
// than the daemon gathers per connection all land: those refused for the
// limit go in one call instead.
func TestAppendInPartsPastTheLimit(t *testing.T) {
	ctx := context.Background()
	c := limitedPair(t, Limits{Parted: 1})
	const cores = 4
	done := make(chan error, cores)
	rcs := make([]*RemoteCore, cores)
	for i := range rcs {
		var err error
		if rcs[i], err = c.Open(ctx, OpenRequest{New: true}); err != nil {
			t.Fatal(err)
		}
	}
	batch := randomBlocks(3, 40, 40, 40, 40, 40, 40, 40, 40)
	for i := range batch {
		batch[i] = bytes.Repeat(batch[i], 8<<10) // 320 KiB each, 2.5 MiB in all
	}
	for _, rc := range rcs {
		go func() { _, err := rc.Append(ctx, batch...); done <- err }()
	}
	for range cores {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for i, rc := range rcs {
		for k, want := range batch {
			got, err := rc.Get(ctx, uint64(k), core.GetOptions{NoWait: true})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("core %d block %d: %d bytes, %v", i, k, len(got), err)
			}
		}
	}
}
