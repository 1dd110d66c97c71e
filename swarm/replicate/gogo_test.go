package replicate

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
)

var dials = map[string]func(testing.TB) (net.Conn, net.Conn){"pipe": pipe, "tcp": tcp}

// TestFull downloads a whole core with irregular block sizes and signed
// lengths, each block once, with the reader as initiator and as responder.
func TestFull(t *testing.T) {
	for name, dial := range dials {
		for _, readerDials := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/reader-initiator", false: "/reader-responder"}[readerDials], func(t *testing.T) {
				const n = 3000
				w := newWriter(t, n)
				r := newReader(t, w.Key())
				rw, rr := newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
				rw.Add(w, CoreOptions{})
				h := rr.Add(r, CoreOptions{})
				if readerDials {
					connect(t, rr, rw, dial)
				} else {
					connect(t, rw, rr, dial)
				}
				if err := h.Download(within(t, 20*time.Second), 0, n); err != nil {
					t.Fatal(err)
				}
				checkBlocks(t, r, 0, n)
				st := h.Stats()
				if st.DownloadedBlocks != n || st.Duplicates != 0 {
					t.Fatalf("stats %+v: want %d blocks, no duplicates", st, n)
				}
				// Claims and the request order keep proofs to a few
				// nodes a block; stale digests cost about ten.
				t.Logf("proof bytes: %.1f a block", float64(st.ProofBytes)/n)
				if st.ProofBytes > 4*40*n {
					t.Errorf("proofs of %d bytes for %d blocks", st.ProofBytes, n)
				}
				if r.Length() != n {
					t.Fatalf("length %d", r.Length())
				}
			})
		}
	}
}

// TestSparse fetches a range, a single block and a seek of a sparse core,
// and nothing else.
func TestSparse(t *testing.T) {
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			ctx := within(t, 20*time.Second)
			w := newWriter(t, 2000)
			r := newReader(t, w.Key())
			rw, rr := newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
			rw.Add(w, CoreOptions{})
			h := rr.Add(r, CoreOptions{Sparse: true})
			connect(t, rr, rw, dial)
			if err := h.Download(ctx, 100, 300); err != nil {
				t.Fatal(err)
			}
			checkBlocks(t, r, 100, 300)
			b, err := h.Get(ctx, 1500)
			if err != nil || string(b) != string(block(1500)) {
				t.Fatalf("get 1500: %d bytes, %v", len(b), err)
			}
			want := byteOffset(1700) + 5
			i, off, err := h.Seek(ctx, want)
			if err != nil || i != 1700 || off != 5 {
				t.Fatalf("seek to %d: block %d offset %d, %v; want 1700, 5", want, i, off, err)
			}
			time.Sleep(50 * time.Millisecond)
			if got, _ := r.Downloaded(ctx, 0, 2000); got != 202 {
				t.Fatalf("sparse reader holds %d blocks, want 202 (the seek reply carries its block)", got)
			}
		})
	}
}

func byteOffset(i uint64) uint64 {
	var n uint64
	for k := range i {
		n += uint64(len(block(k)))
	}
	return n
}

// TestLive: appends reach a full reader and, through Update, a sparse one.
func TestLive(t *testing.T) {
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			ctx := within(t, 20*time.Second)
			w := newWriter(t, 100)
			full, sparse := newReader(t, w.Key()), newReader(t, w.Key())
			rw, rf, rs := newReplicator(t, fastOptions()), newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
			rw.Add(w, CoreOptions{})
			hf := rf.Add(full, CoreOptions{})
			hs := rs.Add(sparse, CoreOptions{Sparse: true})
			connect(t, rf, rw, dial)
			connect(t, rw, rs, dial)
			if err := hf.Download(ctx, 0, 100); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			appendBlocks(t, w, 7, 3)
			if err := hf.Download(within(t, 2*time.Second), 100, 107); err != nil {
				t.Fatal(err)
			}
			t.Logf("7 appended blocks arrived in %v", time.Since(start))
			checkBlocks(t, full, 0, 107)
			for sparse.Length() < 107 {
				if _, err := hs.Update(within(t, 2*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := sparse.Downloaded(ctx, 0, 107); got != 0 {
				t.Fatalf("sparse reader downloaded %d blocks for an update", got)
			}
		})
	}
}

// TestTwoSources: C downloads from A and B at once; every block is fetched
// once and both give some.
func TestTwoSources(t *testing.T) {
	const n = 4000
	w := newWriter(t, n)
	b := copyCore(t, w, n)
	c := newReader(t, w.Key())
	ra, rb, rc := newReplicator(t, fastOptions()), newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
	ra.Add(w, CoreOptions{})
	rb.Add(b, CoreOptions{})
	h := rc.Add(c, CoreOptions{})
	connect(t, rc, ra, tcp)
	connect(t, rc, rb, tcp)
	if err := h.Download(within(t, 20*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, c, 0, n)
	if st := h.Stats(); st.DownloadedBlocks != n || st.Duplicates != 0 {
		t.Fatalf("stats %+v: want %d blocks, no duplicates", st, n)
	}
	for _, p := range rc.Peers() {
		t.Logf("from peer %x: %d blocks", p.RemotePublicKey[:4], p.DownloadedBlocks)
		if p.DownloadedBlocks == 0 {
			t.Errorf("a source gave nothing: %+v", rc.Peers())
		}
	}
}

// copyCore makes a second full copy of w by replicating in process.
func copyCore(t *testing.T, w *core.Hypercore, n uint64) *core.Hypercore {
	t.Helper()
	c := newReader(t, w.Key())
	r1, r2 := New(fastOptions()), New(fastOptions())
	defer r1.Close()
	defer r2.Close()
	r1.Add(w, CoreOptions{})
	h := r2.Add(c, CoreOptions{})
	l := connect(t, r2, r1, pipe)
	defer l.close()
	if err := h.Download(within(t, 20*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestResume: the first source goes mid-download; the download resumes
// from another without fetching a verified block again.
func TestResume(t *testing.T) {
	const n = 3000
	w := newWriter(t, n)
	b := copyCore(t, w, n)
	c := newReader(t, w.Key())
	ra, rb, rc := newReplicator(t, fastOptions()), newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
	ra.Add(w, CoreOptions{})
	rb.Add(b, CoreOptions{})
	h := rc.Add(c, CoreOptions{})
	la := connect(t, rc, ra, tcp)
	ctx := within(t, 20*time.Second)
	for {
		got, _ := c.Downloaded(ctx, 0, n)
		if got >= n/3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	la.connA.Close() // the connection dies under both
	wait(t, la.errA)
	before, _ := c.Downloaded(ctx, 0, n)
	connect(t, rc, rb, tcp)
	if err := h.Download(ctx, 0, n); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, c, 0, n)
	st := h.Stats()
	t.Logf("%d blocks before the cut; %+v", before, st)
	if st.DownloadedBlocks != n || st.Duplicates != 0 {
		t.Fatalf("stats %+v: want %d blocks, none twice", st, n)
	}
}

// TestExtension sends an extension message each way.
func TestExtension(t *testing.T) {
	got := make(chan string, 2)
	o := fastOptions()
	o.Extensions = []string{"hsp-echo", "other"}
	o.OnExtension = func(_ PeerInfo, _ core.DiscoveryKey, name string, payload []byte) {
		got <- name + ":" + string(payload)
	}
	w := newWriter(t, 3)
	r := newReader(t, w.Key())
	ra, rb := newReplicator(t, o), newReplicator(t, o)
	ha := ra.Add(w, CoreOptions{})
	hb := rb.Add(r, CoreOptions{})
	connect(t, ra, rb, pipe)
	if err := hb.Download(within(t, 5*time.Second), 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := ha.SendExtension("hsp-echo", []byte("to reader")); err != nil {
		t.Fatal(err)
	}
	if err := hb.SendExtension("other", []byte("to writer")); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"hsp-echo:to reader": true, "other:to writer": true}
	for range 2 {
		select {
		case s := <-got:
			if !want[s] {
				t.Errorf("extension %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no extension message")
		}
	}
}

// TestLookup: the accepting side serves a core it was not given via
// Lookup, and an Open of a core it does not know closes only that channel.
func TestLookup(t *testing.T) {
	w := newWriter(t, 50)
	other := newWriter(t, 1)
	r := newReader(t, w.Key())
	o := fastOptions()
	o.Lookup = func(_ context.Context, dk core.DiscoveryKey) (Core, CoreOptions, bool) {
		return w, CoreOptions{}, dk == w.DiscoveryKey()
	}
	rw, rr := newReplicator(t, o), newReplicator(t, fastOptions())
	rr.Add(newReader(t, other.Key()), CoreOptions{}) // unknown to rw
	h := rr.Add(r, CoreOptions{})
	l := connect(t, rr, rw, pipe)
	if err := h.Download(within(t, 5*time.Second), 0, 50); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, r, 0, 50)
	select {
	case err := <-l.errA:
		t.Fatalf("connection ended: %v", err)
	default:
	}
}
