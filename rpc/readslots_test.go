package rpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// readCounter is a backend whose cores count the blocks their gets read.
type readCounter struct {
	*memBackend
	reads atomic.Int32
}

func (b *readCounter) Open(ctx context.Context, req OpenRequest) (Handle, error) {
	h, err := b.memBackend.Open(ctx, req)
	if err == nil {
		h.Core = countedReads{LocalCore: h.Core, n: &b.reads}
	}
	return h, err
}

type countedReads struct {
	LocalCore
	n *atomic.Int32
}

func (c countedReads) Get(ctx context.Context, index uint64, opts core.GetOptions) ([]byte, error) {
	inner := opts.BeforeRead
	opts.BeforeRead = func(ctx context.Context) error {
		if inner != nil {
			if err := inner(ctx); err != nil {
				return err
			}
		}
		c.n.Add(1)
		return nil
	}
	return c.LocalCore.Get(ctx, index, opts)
}

// TestGetsReadBoundedBlocks: 24 gets of an 8 MiB block from a client that
// never reads its answers read only the blocks the bound on unread
// answers (64 MiB) takes, and Limits.Reads more; the rest wait without a
// copy of the block. Before, every get read its copy first: 24 × 8 MiB,
// and 1,024 gets would have been 8 GiB.
func TestGetsReadBoundedBlocks(t *testing.T) {
	b := &readCounter{memBackend: newMemBackend()}
	srv := NewServer(b, ServerOptions{Limits: Limits{Reads: 2, SlowConsumer: time.Minute}})
	ctx := t.Context()
	rc, sc, served := stalledClient(t, srv)
	const gets = 24
	for range gets {
		// Never read: the stalled connection cannot take the answers.
		rc.c.Get(ctx, func(p schema.Core_get_Params) error { p.SetIndex(0); return nil })
	}
	fit := int32(maxQueuedBytes / core.MaxBlockSize)
	var read int32
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		read = b.reads.Load()
	}
	t.Logf("%d of %d gets read their block (%d fit the bound on unread answers, 2 read slots)", read, gets, fit)
	if read > fit+2 {
		t.Fatalf("%d gets read an 8 MiB block while %d fit the bound and 2 may wait with one", read, fit)
	}
	if read < 3 {
		t.Fatalf("only %d gets read their block", read)
	}
	sc.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end with its connection")
	}
}
