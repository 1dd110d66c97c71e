package replicate

import (
	"context"
	"crypto/rand"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// TestHostileData: a peer sending blocks that do not verify is cut off,
// nothing of it is stored, and an honest peer's blocks complete the core.
func TestHostileData(t *testing.T) {
	cases := map[string]func(*wire.Data){
		"bad block hash": func(d *wire.Data) { d.Value = append(slices.Clone(d.Value), 1) },
		"bad signature": func(d *wire.Data) {
			d.Signature = slices.Clone(d.Signature)
			d.Signature[5] ^= 1
		},
		"unverifiable proof": func(d *wire.Data) { d.Nodes = d.Nodes[1:] },
		"proof short of the roots": func(d *wire.Data) {
			d.Value = append(slices.Clone(d.Value), 1)
			d.Nodes = d.Nodes[1:]
		},
		"wrong node hash": func(d *wire.Data) {
			d.Nodes = slices.Clone(d.Nodes)
			d.Nodes[0].Hash[0] ^= 1
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			const n = 500
			w := newWriter(t, n)
			c := newReader(t, w.Key())
			victim, honest := newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
			h := victim.Add(c, CoreOptions{})
			bad := newScripted(t, victim)
			ch := bad.open(t, w.Key())
			bad.serveBad(t, ch, w, tamper)
			bad.cut(t, ErrBadData) // before anything else arrives, so the bad part is needed
			honest.Add(w, CoreOptions{})
			connect(t, honest, victim, pipe)
			if err := h.Download(within(t, 10*time.Second), 0, n); err != nil {
				t.Fatal(err)
			}
			checkBlocks(t, c, 0, n)
			if got := victim.Disconnects()[ErrBadData.Error()]; got != 1 {
				t.Fatalf("disconnects %v", victim.Disconnects())
			}
		})
	}
}

// hostileWriter is a victim serving a core of n blocks to the scripted
// peer, and to an honest reader whose download must complete.
func hostileWriter(t *testing.T, o Options, n int) (*Replicator, *core.Hypercore, *scripted, *wire.Channel) {
	t.Helper()
	w := newWriter(t, n)
	victim := newReplicator(t, o)
	victim.Add(w, CoreOptions{})
	sc := newScripted(t, victim)
	ch := sc.open(t, w.Key())
	return victim, w, sc, ch
}

// honestDownload checks that victim still serves an honest reader of w
// (one whose window stays within the victim's).
func honestDownload(t *testing.T, victim *Replicator, w *core.Hypercore) {
	t.Helper()
	c := newReader(t, w.Key())
	o := fastOptions()
	o.MaxWindow = victim.opts.MaxWindow
	o.MinWindow = min(victim.opts.MinWindow, o.MaxWindow)
	honest := newReplicator(t, o)
	h := honest.Add(c, CoreOptions{})
	connect(t, honest, victim, pipe)
	if err := h.Download(within(t, 10*time.Second), 0, w.Length()); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, c, 0, w.Length())
}

func TestHostileUnannouncedRequest(t *testing.T) {
	victim, w, sc, ch := hostileWriter(t, fastOptions(), 100)
	ch.Send(wire.Request{Index: 100, Nodes: wire.Uint64(0)})
	sc.cut(t, ErrUnannounced)
	honestDownload(t, victim, w)
}

func TestHostileHashRequestUnannounced(t *testing.T) {
	victim, w, sc, ch := hostileWriter(t, fastOptions(), 100)
	ch.Send(wire.Request{Index: 5000, Hash: wire.Bool(true)})
	sc.cut(t, ErrUnannounced)
	honestDownload(t, victim, w)
}

// TestHostileTooManyRequests: a peer that reads nothing and keeps asking
// passes twice our largest window of queued requests.
func TestHostileTooManyRequests(t *testing.T) {
	o := fastOptions()
	o.MaxWindow, o.ServeBytes = 8, 1
	victim, w, sc, ch := hostileWriter(t, o, 100)
	sc.conn.stopReading()
	for i := range uint64(2*8 + 5) {
		if err := ch.Send(wire.Request{Index: i % 100, Nodes: wire.Uint64(0)}); err != nil {
			break // cut off already
		}
	}
	sc.cut(t, ErrTooManyRequests)
	honestDownload(t, victim, w)
}

// TestHostileSlowReader: a peer that stops reading is cut off when one
// write stalls too long, or when its queue passes the high-water mark.
func TestHostileSlowReader(t *testing.T) {
	t.Run("stall", func(t *testing.T) {
		o := fastOptions()
		o.StallTimeout = 100 * time.Millisecond
		victim, w, sc, ch := hostileWriter(t, o, 100)
		sc.conn.stopReading()
		ch.Send(wire.Want{Start: 0, Length: wire.Uint64(wantSpan)})
		// The victim gathers a burst into one write, which the read
		// already under way may take whole: a later burst is the one
		// that stalls.
		for range 3 {
			ch.Send(wire.Request{Index: 7, Nodes: wire.Uint64(0)})
			time.Sleep(30 * time.Millisecond)
		}
		sc.cut(t, ErrSlowReader)
		honestDownload(t, victim, w)
	})
	t.Run("high-water", func(t *testing.T) {
		o := fastOptions()
		o.HighWater, o.ServeBytes = 32<<10, 8<<10
		victim, w, sc, ch := hostileWriter(t, o, 200)
		sc.conn.stopReading()
		for range 3000 { // each answered with a Have it never reads
			ch.Send(wire.Want{Start: 0, Length: wire.Uint64(wantSpan)})
		}
		sc.cut(t, ErrSlowReader)
		honestDownload(t, victim, w)
	})
}

// TestHostileUnrequested: unrequested Data is dropped and answered with
// Unhave, as JS does, until the bound.
func TestHostileUnrequested(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 20)
	c := newReader(t, w.Key())
	o := fastOptions()
	o.MaxUnrequested = 4
	victim := newReplicator(t, o)
	victim.Add(c, CoreOptions{Sparse: true})
	sc := newScripted(t, victim)
	ch := sc.open(t, w.Key())
	send := func(i uint64) {
		p, _ := w.Proof(ctx, i, 0, false, nil)
		v, _ := w.Get(ctx, i, core.GetOptions{NoWait: true})
		ch.Send(wire.Data{Index: i, Value: v, Nodes: p.Nodes, Signature: p.Signature})
	}
	for i := range uint64(4) {
		send(i)
		ev := sc.next(t, isMsg(wire.TypeUnhave))
		if u := ev.Message.(wire.Unhave); u.Start != i {
			t.Fatalf("Unhave %+v for block %d", u, i)
		}
	}
	sc.alive(t)
	if got, _ := c.Downloaded(ctx, 0, 20); got != 0 || c.Length() != 0 {
		t.Fatalf("unrequested blocks stored: %d, length %d", got, c.Length())
	}
	send(4)
	sc.cut(t, ErrUnrequested)
}

// TestHostileUnknownOpens: an Open of a core we do not have closes that
// channel only, until the bound.
func TestHostileUnknownOpens(t *testing.T) {
	o := fastOptions()
	o.MaxUnknownOpens = 3
	victim, w, sc, _ := hostileWriter(t, o, 10)
	for range 3 {
		kp, _ := core.GenerateKeyPair(rand.Reader)
		ch, err := sc.s.OpenChannel(kp.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		sc.next(t, func(ev wire.Event) bool { return ev.Kind == wire.EventChannelClosed && ev.Channel == ch })
	}
	sc.alive(t)
	kp, _ := core.GenerateKeyPair(rand.Reader)
	sc.s.OpenChannel(kp.PublicKey)
	sc.cut(t, ErrUnknownOpens)
	honestDownload(t, victim, w)
}

// TestHostileGarbage: frames that do not parse, or are too large, end the
// connection as ErrMalformed.
func TestHostileGarbage(t *testing.T) {
	req := wire.Request{Index: 3, Bytes: wire.Uint64(0), Hash: wire.Bool(false), Nodes: wire.Uint64(0)}
	plain, err := wire.AppendFrame(nil, 1, req)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"oversized frame": {0xff, 0xff, 0xff, 0x7f, 0x17},
		"garbage body":    append(slices.Clone(plain[:2]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			victim, w, sc, ch := hostileWriter(t, fastOptions(), 10)
			sc.conn.corruptNext(plain, want)
			ch.Send(req)
			sc.cut(t, ErrMalformed)
			honestDownload(t, victim, w)
		})
	}
	t.Run("bad have bitfield", func(t *testing.T) {
		victim, w, sc, ch := hostileWriter(t, fastOptions(), 10)
		ch.Send(wire.Have{Start: 0, Length: wire.Uint64(wantSpan), Bitfield: []byte{0x80}})
		sc.cut(t, ErrMalformed)
		honestDownload(t, victim, w)
	})
}

// TestHostileMemory: a flood of Haves over every block index we accept,
// of Wants and of unrequested Data (below the bound) costs bounded memory,
// and the victim still serves an honest peer.
func TestHostileMemory(t *testing.T) {
	o := fastOptions()
	o.MaxUnrequested = 1 << 30
	victim, w, sc, ch := hostileWriter(t, o, 50)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	big := make([]byte, 512<<10)
	for i := range uint64(16) {
		ch.Send(wire.Have{Start: i * wantSpan, Length: wire.Uint64(wantSpan)})
		ch.Send(wire.Have{Start: i * wantSpan, Length: wire.Uint64(wantSpan), Bitfield: []byte{0x7f, 0xff, 0x03}})
	}
	for i := range uint64(200) {
		ch.Send(wire.Have{Start: DefaultMaxRemoteBlocks + i, Length: wire.Uint64(wantSpan)}) // ignored
		ch.Send(wire.Data{Index: 1000 + i, Value: big})                                      // unrequested
	}
	honestDownload(t, victim, w)
	sc.alive(t)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap grew %d KiB", grew>>10)
	if grew > 16<<20 {
		t.Fatalf("heap grew %d MiB under a flood", grew>>20)
	}
}

// TestHostileShortProof: a reader that already holds the roots is sent a
// changed block whose proof leaves out a sibling: the signature over the
// held roots proves nothing about it, so it is refused and the peer cut.
func TestHostileShortProof(t *testing.T) {
	const n = 64
	w := newWriter(t, n)
	c := newReader(t, w.Key())
	victim, honest := newReplicator(t, fastOptions()), newReplicator(t, fastOptions())
	h := victim.Add(c, CoreOptions{Sparse: true})
	honest.Add(w, CoreOptions{})
	l := connect(t, victim, honest, pipe)
	if err := h.Download(within(t, 5*time.Second), 60, 64); err != nil {
		t.Fatal(err)
	}
	l.close()
	bad := newScripted(t, victim)
	ch := bad.open(t, w.Key())
	bad.serveBad(t, ch, w, func(d *wire.Data) {
		d.Value = append(slices.Clone(d.Value), 1)
		d.Nodes = d.Nodes[1:]
	})
	go h.Get(within(t, 5*time.Second), 3)
	bad.cut(t, ErrBadData)
	if has, _ := c.Has(context.Background(), 3); has {
		t.Fatal("the changed block was stored")
	}
	checkBlocks(t, c, 60, 64)
}
