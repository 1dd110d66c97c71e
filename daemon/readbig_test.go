package daemon

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/hspd/hsp/rpc"
)

// TestReadPastTheSendBound: reading a core much larger than the bound on
// what a client leaves unread (64 MiB) streams, since the client reads.
func TestReadPastTheSendBound(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	c := dial(t, d)
	ctx := context.Background()
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1600; i += 100 {
		blocks := make([][]byte, 100)
		for k := range blocks {
			blocks[k] = make([]byte, 64<<10)
			rand.Read(blocks[k])
		}
		if _, err := rc.Append(ctx, blocks...); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := rc.Read(ctx, 0, 1600, false, func(i uint64, b []byte) error { n++; return nil }); err != nil {
		t.Fatalf("read after %d blocks: %v", n, err)
	}
}
