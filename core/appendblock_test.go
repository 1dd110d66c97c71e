package core

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// plainStorage hides MemoryStorage's AppendBlock, so the core takes the
// Block path.
type plainStorage struct{ Storage }

func TestAppendBlockMatchesGet(t *testing.T) {
	ctx := context.Background()
	for name, st := range map[string]Storage{"appender": NewMemoryStorage(), "plain": plainStorage{NewMemoryStorage()}} {
		t.Run(name, func(t *testing.T) {
			c, err := Open(ctx, st, KeyPairFromSeed(make([]byte, 32)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			blocks := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 3000)}
			if _, err := c.Append(ctx, blocks...); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 0, 16)
			for i, want := range blocks {
				got, err := c.AppendBlock(ctx, append(buf[:0], "pre"...), uint64(i))
				if err != nil || !bytes.Equal(got, append([]byte("pre"), want...)) {
					t.Fatalf("block %d: %q, %v; want %q after the prefix", i, got, err, want)
				}
			}
			if got, err := c.AppendBlock(ctx, buf[:0], 3); !errors.Is(err, ErrNotAvailable) || len(got) != 0 {
				t.Fatalf("missing block: %q, %v; want ErrNotAvailable and dst unchanged", got, err)
			}
			c.Close()
			if _, err := c.AppendBlock(ctx, nil, 0); !errors.Is(err, ErrClosed) {
				t.Fatalf("closed core: %v, want ErrClosed", err)
			}
		})
	}
}
