package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
)

// BenchmarkLoadedSet measures one open of a loaded core and its release
// (with the collection each triggers) while n cores are loaded: the cost
// stays flat from 1,000 to 10,000.
func BenchmarkLoadedSet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("loaded=%d", n), func(b *testing.B) {
			s, keys := loadedCores(b, n)
			b.ResetTimer()
			for i := range b.N {
				key := keys[i%len(keys)]
				_, release, err := s.acquire(context.Background(), &key, nil)
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
		})
	}
}

// loadedCores makes a loaded set holding n idle cores of an in-memory store.
func loadedCores(tb testing.TB, n int) (*loadedSet, []core.Key) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "/db", store.Options{FS: vfs.NewMem(), UnsafeSyncInterval: time.Hour, MinFreeBytes: -1})
	if err != nil {
		tb.Fatal(err)
	}
	s := newLoadedSet(time.Hour, 2*n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tb.Cleanup(func() { s.closeAll(); st.Close() })
	keys := make([]core.Key, n)
	for i := range keys {
		h, release, err := s.acquire(ctx, nil, func(ctx context.Context) (*store.Handle, error) { return st.Create(ctx) })
		if err != nil {
			tb.Fatal(err)
		}
		keys[i] = h.Key()
		release()
	}
	return s, keys
}
