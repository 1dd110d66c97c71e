package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// TestIdleCoresUnload: a core no client uses stays loaded for the idle
// timeout, then unloads, and its data stays.
func TestIdleCoresUnload(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{IdleTimeout: 150 * time.Millisecond})
	ctx := context.Background()
	c := dial(t, d)
	rc, err := c.Open(ctx, rpc.OpenRequest{Name: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	rc.Append(ctx, []byte("kept"))
	rc.Close()
	if n := loaded(t, c); n != 1 {
		t.Fatalf("right after close %d cores are loaded, want 1 (still warm)", n)
	}
	waitFor(t, "the idle core to unload", func() bool { return loaded(t, c) == 0 })
	st, _ := c.Status(ctx)
	if st.CoresStored != 1 {
		t.Fatalf("status after unload: %d stored", st.CoresStored)
	}
	again, err := c.Open(ctx, rpc.OpenRequest{Name: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := again.Get(ctx, 0, core.GetOptions{NoWait: true}); err != nil || string(b) != "kept" {
		t.Fatalf("block after an unload: %q, %v", b, err)
	}
}

// TestMaxLoaded: past the cap, the least recently used idle cores unload;
// cores in use never do.
func TestMaxLoaded(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{MaxLoaded: 3, IdleTimeout: time.Hour})
	ctx := context.Background()
	c := dial(t, d)
	held, err := c.Open(ctx, rpc.OpenRequest{Name: "held"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []core.Key
	for i := range 5 {
		rc, err := c.Open(ctx, rpc.OpenRequest{Name: string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rc.Key())
		rc.Close()
		time.Sleep(2 * time.Millisecond) // distinct last-use times
	}
	if n := loaded(t, c); n != 3 {
		t.Fatalf("%d cores loaded with a cap of 3", n)
	}
	list, _ := c.List(ctx)
	isLoaded := map[core.Key]bool{}
	for _, ci := range list {
		isLoaded[ci.Key] = ci.Loaded
	}
	if !isLoaded[held.Key()] || !isLoaded[keys[4]] || !isLoaded[keys[3]] || isLoaded[keys[0]] {
		t.Fatalf("the wrong cores stayed loaded: %v (held %s, newest %s)", isLoaded, held.Key(), keys[4])
	}
}
