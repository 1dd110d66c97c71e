package replicate

import (
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// TestNonLiveEnd: non-live on both sides, the reader downloads everything
// without being asked to, says downloading: false, the writer answers
// with uploading: false and Close, and both Runs end cleanly, with every
// block stored.
func TestNonLiveEnd(t *testing.T) {
	for name, dial := range dials {
		for _, readerDials := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/reader-initiator", false: "/reader-responder"}[readerDials], func(t *testing.T) {
				const n = 500
				w := newWriter(t, n)
				r := newReader(t, w.Key())
				o := fastOptions()
				o.NonLive = true
				rw, rr := newReplicator(t, o), newReplicator(t, o)
				rw.Add(w, CoreOptions{})
				h := rr.Add(r, CoreOptions{})
				var l *link
				var errR, errW chan error
				if readerDials {
					l = connect(t, rr, rw, dial)
					errR, errW = l.errA, l.errB
				} else {
					l = connect(t, rw, rr, dial)
					errR, errW = l.errB, l.errA
				}
				if err := wait(t, errR); err != nil {
					t.Fatalf("reader's Run: %v", err)
				}
				if err := wait(t, errW); err != nil {
					t.Fatalf("writer's Run: %v", err)
				}
				checkBlocks(t, r, 0, n)
				if st := h.Stats(); st.DownloadedBlocks != n || st.Duplicates != 0 {
					t.Fatalf("stats %+v", st)
				}
				if err := h.Synced(within(t, 5*time.Second)); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestNonLiveSparseStays: a sparse non-live core keeps its channel while
// the peer uploads (as JS's does), and a live one never ends.
func TestNonLiveSparseStays(t *testing.T) {
	for _, c := range []struct {
		name    string
		nonLive bool
		sparse  bool
	}{{"sparse", true, true}, {"live", false, false}} {
		t.Run(c.name, func(t *testing.T) {
			w := newWriter(t, 50)
			r := newReader(t, w.Key())
			o := fastOptions()
			o.NonLive = c.nonLive
			rw, rr := newReplicator(t, o), newReplicator(t, o)
			rw.Add(w, CoreOptions{})
			h := rr.Add(r, CoreOptions{Sparse: c.sparse})
			l := connect(t, rr, rw, pipe)
			if err := h.Download(within(t, 10*time.Second), 0, 50); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-l.errA:
				t.Fatalf("Run ended: %v", err)
			case err := <-l.errB:
				t.Fatalf("Run ended: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if h.Peers() != 1 {
				t.Fatalf("%d peers", h.Peers())
			}
		})
	}
}

// TestAck: a side in ack mode gets an acknowledgement of every block the
// other stored.
func TestAck(t *testing.T) {
	const n = 300
	w := newWriter(t, n)
	r := newReader(t, w.Key())
	var mu sync.Mutex
	acked := map[uint64]int{}
	ow := fastOptions()
	ow.Ack = true
	ow.OnAck = func(_ PeerInfo, _ core.DiscoveryKey, i uint64) {
		mu.Lock()
		acked[i]++
		mu.Unlock()
	}
	rw, rr := newReplicator(t, ow), newReplicator(t, fastOptions())
	rw.Add(w, CoreOptions{})
	h := rr.Add(r, CoreOptions{})
	connect(t, rr, rw, pipe)
	if err := h.Download(within(t, 10*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := len(acked)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d blocks acknowledged", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, k := range acked {
		if k != 1 {
			t.Fatalf("block %d acknowledged %d times", i, k)
		}
	}
}
