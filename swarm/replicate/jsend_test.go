package replicate

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

// TestJSNonLive: with JS hypercore 9 replicating with live: false, the
// non-live ending of section 7.5 works both ways: hsp (NonLive) downloads
// everything from a JS writer, says downloading: false and closes, and a
// JS reader that finished gets uploading: false and Close from an hsp
// writer; both streams end, Run returns nil. Ack mode both ways on the
// way: the JS writer asks for acks and gets one per block, the hsp writer
// (Options.Ack) gets one per block from the JS reader.
func TestJSNonLive(t *testing.T) {
	requireJSPeer(t)
	const n = 300
	t.Run("js-writer", func(t *testing.T) {
		s, p := connectJS(t, true, "--blocks", strconv.Itoa(n), "--nonlive", "--ack")
		o := fastOptions()
		o.NonLive = true
		r := newReplicator(t, o)
		c := newReader(t, p.key(t))
		h := r.Add(c, CoreOptions{})
		errc := runJS(t, r, s)
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the non-live stream did not end")
		}
		checkBlocks(t, c, 0, n)
		if st := h.Stats(); st.DownloadedBlocks != n {
			t.Fatalf("stats %+v", st)
		}
		ev := p.waitEvent(t, "closed", 10*time.Second)
		if ev["acks"].(float64) != n {
			t.Fatalf("JS got %v acks, want %d", ev["acks"], n)
		}
	})
	t.Run("js-reader", func(t *testing.T) {
		w := newWriter(t, n)
		s, p := connectJS(t, false, "--key", w.Key().String(), "--nonlive")
		var acks atomic.Int64
		o := fastOptions()
		o.NonLive, o.Ack = true, true
		o.OnAck = func(PeerInfo, core.DiscoveryKey, uint64) { acks.Add(1) }
		r := newReplicator(t, o)
		r.Add(w, CoreOptions{})
		errc := runJS(t, r, s)
		p.send(t, map[string]any{"cmd": "wait", "start": 0, "end": n})
		if ev := p.waitEvent(t, "verified", 30*time.Second); ev["bad"].(float64) != 0 {
			t.Fatalf("JS verified %v", ev)
		}
		p.waitEvent(t, "closed", 10*time.Second)
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the non-live stream did not end")
		}
		if got := acks.Load(); got != n {
			t.Fatalf("%d acks, want %d", got, n)
		}
	})
}
