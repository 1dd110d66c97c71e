package rpc

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

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

// sendPart sends one appendPart call without waiting for its answer.
func sendPart(ctx context.Context, rc *RemoteCore, blocks [][]byte, last bool) (schema.Core_appendPart_Results_Future, func()) {
	f, release := rc.c.AppendPart(ctx, func(p schema.Core_appendPart_Params) error {
		list, err := p.NewBlocks(int32(len(blocks)))
		if err != nil {
			return err
		}
		p.SetLast(last)
		return fillDataList(list, blocks)
	})
	return f, release
}

func partErr(f schema.Core_appendPart_Results_Future, release func()) error {
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
	c := limitedPair(t, Limits{Parted: 1, PartWait: 200 * time.Millisecond})
	a, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	half := make([][]byte, MaxAppendBlocks/2+1)
	f1, r1 := sendPart(ctx, a, half, false)
	if err := partErr(sendPart(ctx, a, half, true)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("parts of %d blocks in all: %v, want ErrTooLarge", 2*len(half), err)
	}
	if err := partErr(f1, r1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("first part of a refused append: %v, want ErrTooLarge", err)
	}

	start := time.Now()
	if err := partErr(sendPart(ctx, a, [][]byte{[]byte("lonely")}, false)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("a part with no last part: %v, want ErrBadRequest", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("a part with no last part failed after %v, before PartWait", took)
	}

	fa, ra := sendPart(ctx, a, [][]byte{[]byte("a0")}, false)
	if err := partErr(sendPart(ctx, b, [][]byte{[]byte("b0")}, false)); !errors.Is(err, ErrLimit) {
		t.Fatalf("a second append in parts at once: %v, want ErrLimit", err)
	}
	if err := partErr(sendPart(ctx, a, [][]byte{[]byte("a1")}, true)); err != nil {
		t.Fatalf("last part: %v", err)
	}
	if err := partErr(fa, ra); err != nil {
		t.Fatalf("first part: %v", err)
	}
	if n, err := b.Append(ctx, []byte("b")); err != nil || n != 1 {
		t.Fatalf("b after the refusal: %d, %v", n, err)
	}
	if n, err := a.Append(ctx, []byte("a2")); err != nil || n != 3 {
		t.Fatalf("a holds %d blocks (%v), want a0 a1 a2", n, err)
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
	f, release := sendPart(ctx, rc, randomBlocks(2, 1000, 2000), false)
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
