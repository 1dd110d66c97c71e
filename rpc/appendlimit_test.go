package rpc

import (
	"context"
	"errors"
	"testing"

	"github.com/hspd/hsp/rpc/schema"
)

// blocksOf cuts total bytes into n blocks as evenly as possible.
func blocksOf(n, total int) [][]byte {
	buf := make([]byte, total)
	out := make([][]byte, n)
	for i := range out {
		lo, hi := i*total/n, (i+1)*total/n
		out[i] = buf[lo:hi:hi]
	}
	return out
}

// TestAppendLimitsExact: the largest documented append (65,536 × 1 KiB =
// 64 MiB) goes through; one block or one byte more is refused as too large
// by the client and, sent raw, by the server, and the connection lives on.
func TestAppendLimitsExact(t *testing.T) {
	_, c := newPair(t)
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		blocks, bytes int
		ok            bool
	}{
		{"limit-1 blocks and bytes", MaxAppendBlocks - 1, MaxAppendBytes - 1, true},
		{"limit blocks and bytes", MaxAppendBlocks, MaxAppendBytes, true},
		{"limit+1 blocks", MaxAppendBlocks + 1, 0, false},
		{"limit+1 bytes", 9, MaxAppendBytes + 1, false},
	} {
		blocks := blocksOf(tc.blocks, tc.bytes)
		_, err := rc.Append(ctx, blocks...)
		if tc.ok && err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !tc.ok {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s: client check: %v, want ErrTooLarge", tc.name, err)
			}
			if err := rawAppend(ctx, rc, blocks); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s: server check: %v, want ErrTooLarge", tc.name, err)
			}
		}
	}
	if n, err := rc.Append(ctx, []byte("after")); err != nil || n != 2*MaxAppendBlocks {
		t.Fatalf("append after the refusals: %d, %v", n, err)
	}
}

// rawAppend sends an append without the client's checks.
func rawAppend(ctx context.Context, rc *RemoteCore, blocks [][]byte) error {
	f, release := rc.c.Append(ctx, func(p schema.Core_append_Params) error {
		list, err := p.NewBlocks(int32(len(blocks)))
		if err != nil {
			return err
		}
		return fillDataList(list, blocks)
	})
	defer release()
	_, err := f.Struct()
	return wireErr(err)
}
