package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// TestStatusNeverStalls: while 10 clients open 1,000 cores each, hold them,
// then hang up (releasing them all at once, so the GC unloads 9,000 past
// its cap), status answers within a second every time.
func TestStatusNeverStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 cores")
	}
	d := startDaemon(t, t.TempDir(), Options{Store: store.Options{UnsafeSyncInterval: 50 * time.Millisecond}})
	ctx := context.Background()
	probe := dial(t, d)
	var wg sync.WaitGroup
	for range 10 {
		c := dial(t, d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for range 1000 {
				if _, err := c.Open(ctx, rpc.OpenRequest{New: true}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	worst, polls := time.Duration(0), 0
	for {
		select {
		case <-done:
			hungUp := time.Now()
			waitFor(t, "the GC to unload past its cap", func() bool {
				st, _ := probe.Status(ctx)
				return st.CoresLoaded <= DefaultMaxLoaded
			})
			st, _ := probe.Status(ctx)
			t.Logf("%d status calls, the slowest %v; %d cores stored, %d loaded %v after the hang-ups",
				polls, worst, st.CoresStored, st.CoresLoaded, time.Since(hungUp))
			if st.CoresStored != 10000 {
				t.Fatalf("%d cores stored, want 10000", st.CoresStored)
			}
			return
		default:
		}
		start := time.Now()
		if _, err := probe.Status(ctx); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		worst, polls = max(worst, took), polls+1
		if took > time.Second {
			t.Fatalf("status took %v while cores were opened and released", took)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
