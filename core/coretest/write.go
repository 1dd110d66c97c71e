package coretest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/hspd/hsp/core"
)

func testConcurrentAppends(t *testing.T, f Factory) {
	c := newCore(t, f)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range RandomBlocks(each, 64) {
				if _, err := c.Append(context.Background(), b); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.Length() != writers*each {
		t.Fatalf("length %d after %d appends", c.Length(), writers*each)
	}
	fetchAll(t, f, c)
	r, err := c.Audit(context.Background())
	if err != nil || r.Blocks != writers*each || !r.Signature {
		t.Fatalf("audit: %+v, %v", r, err)
	}
}

func testReopen(t *testing.T, f Factory) {
	if f.Reopen == nil {
		t.Skip("this implementation cannot reopen a core")
	}
	c := f.NewWritable(t)
	blocks := RandomBlocks(9, 33)
	mustAppend(t, c, blocks[:4]...)
	mustAppend(t, c, blocks[4:]...)
	c = f.Reopen(t, c)
	defer c.Close()
	if c.Length() != 9 || c.ByteLength() != 9*33 || c.Writable() == f.Replica {
		t.Fatalf("reopened: length %d byteLength %d writable %v", c.Length(), c.ByteLength(), c.Writable())
	}
	fetchAll(t, f, c)
	for i, b := range blocks {
		mustGet(t, c, uint64(i), b)
	}
	mustAppend(t, c, []byte("after reopen"))
	fetchAll(t, f, c)
	if r, err := c.Audit(context.Background()); err != nil || r.Blocks != 10 {
		t.Fatalf("audit after reopen: %+v, %v", r, err)
	}
}

func testClosed(t *testing.T, f Factory) {
	c := f.NewWritable(t)
	mustAppend(t, c, []byte("a"))
	ctx := context.Background()
	waiting := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, 5, core.GetOptions{})
		waiting <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-waiting; !errors.Is(err, core.ErrClosed) {
		t.Fatalf("a get waiting at close returned %v, want ErrClosed", err)
	}
	if _, err := c.Append(ctx, []byte("b")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := c.Get(ctx, 0, core.GetOptions{}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}
