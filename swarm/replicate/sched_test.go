package replicate

import (
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// announceAll makes a scripted peer an uploader that announced every
// block of w and answers nothing.
func (sc *scripted) announceAll(ch *wire.Channel, w *core.Hypercore) {
	ch.Send(wire.Status{Uploading: wire.Bool(true), Downloading: wire.Bool(false)})
	ch.Send(wire.Have{Start: 0, Length: wire.Uint64(wantSpan), Bitfield: w.HaveBitfield(0, wantSpan)})
}

// TestSlowPeerBlocksMove: a peer that never answers loses its requests to
// another peer once they time out, and every block still comes once.
func TestSlowPeerBlocksMove(t *testing.T) {
	const n = 1000
	w := newWriter(t, n)
	c := newReader(t, w.Key())
	o := fastOptions()
	o.RequestTimeout = 200 * time.Millisecond
	victim := newReplicator(t, o)
	h := victim.Add(c, CoreOptions{})
	slow := newScripted(t, victim)
	ch := slow.open(t, w.Key())
	slow.announceAll(ch, w)
	slow.next(t, isMsg(wire.TypeRequest)) // it holds reservations now
	honest := newReplicator(t, fastOptions())
	honest.Add(w, CoreOptions{})
	connect(t, victim, honest, pipe)
	start := time.Now()
	if err := h.Download(within(t, 10*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("done %v after the honest peer came", time.Since(start))
	checkBlocks(t, c, 0, n)
	if st := h.Stats(); st.DownloadedBlocks != n || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUploadingFalseGivesBack: Status{uploading: false} frees the peer's
// reservations at once, long before any request times out.
func TestUploadingFalseGivesBack(t *testing.T) {
	const n = 500
	w := newWriter(t, n)
	c := newReader(t, w.Key())
	o := fastOptions()
	o.RequestTimeout = time.Minute
	victim := newReplicator(t, o)
	h := victim.Add(c, CoreOptions{})
	quitter := newScripted(t, victim)
	ch := quitter.open(t, w.Key())
	quitter.announceAll(ch, w)
	quitter.next(t, isMsg(wire.TypeRequest))
	honest := newReplicator(t, fastOptions())
	honest.Add(w, CoreOptions{})
	connect(t, victim, honest, pipe)
	time.Sleep(20 * time.Millisecond)
	ch.Send(wire.Status{Uploading: wire.Bool(false), Downloading: wire.Bool(false)})
	if err := h.Download(within(t, 5*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, c, 0, n)
	quitter.alive(t)
}

// TestManyCores replicates three cores over one stream, with per-peer and
// per-core counters.
func TestManyCores(t *testing.T) {
	ra, rb := newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
	var hs []*Handle
	var readers []*core.Hypercore
	for i := range 3 {
		w := newWriter(t, 100*(i+1))
		r := newReader(t, w.Key())
		ra.Add(w, CoreOptions{})
		hs = append(hs, rb.Add(r, CoreOptions{}))
		readers = append(readers, r)
	}
	connect(t, rb, ra, tcp)
	var total uint64
	for i, h := range hs {
		n := uint64(100 * (i + 1))
		if err := h.Download(within(t, 10*time.Second), 0, n); err != nil {
			t.Fatal(err)
		}
		checkBlocks(t, readers[i], 0, n)
		total += h.Stats().DownloadedBytes
	}
	peers := rb.Peers()
	if len(peers) != 1 || peers[0].Cores != 3 || peers[0].DownloadedBytes != total || peers[0].DownloadedBlocks != 600 {
		t.Fatalf("peer counters %+v, want 3 cores, 600 blocks, %d bytes", peers, total)
	}
	if up := ra.Peers(); len(up) != 1 || up[0].UploadedBlocks != 600 || up[0].UploadedBytes != total {
		t.Fatalf("uploader counters %+v", up)
	}
}
