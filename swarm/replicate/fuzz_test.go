package replicate

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// fuzzPeer is a peer without a stream: what it sends piles up in its
// outbox, and it is driven by calling its handlers directly.
func fuzzPeer(r *Replicator) *peer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &peer{r: r, ctx: ctx, cancel: cancel, chans: map[*wire.Channel]*peerChan{}, opened: map[core.DiscoveryKey]*coreState{}}
	p.out, p.reqs = newOutbox(p), newServeQueue()
	return p
}

// splitMessages reads data as (type, length, body) triples.
func splitMessages(data []byte) []wire.Message {
	var out []wire.Message
	for len(data) >= 2 {
		t, n := wire.Type(data[0]&15), int(data[1])
		data = data[2:]
		n = min(n, len(data))
		body := data[:n]
		data = data[n:]
		if t == wire.TypeOpen || t == wire.TypeClose {
			continue // the wire layer's business
		}
		if m, err := wire.Decode(t, body); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// FuzzMessages feeds message sequences to an uploading and a downloading
// channel: nothing may panic, a peer is only ever cut off with one of the
// reasons, nothing unverified is stored, and the outbox stays bounded.
func FuzzMessages(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	w := newWriter(f, 40)
	f.Fuzz(func(t *testing.T, data []byte) {
		o := fastOptions()
		o.MaxUnrequested, o.MaxWindow, o.HighWater = 8, 32, 1<<20
		r := New(o)
		defer r.Close()
		reader := openCore(t, core.KeyPair{PublicKey: w.Key()}, core.NewMemoryStorage())
		up, down := fuzzPeer(r), fuzzPeer(r)
		pcUp := newPeerChan(up, newCoreState(r, w, CoreOptions{}), nil)
		csDown := newCoreState(r, reader, CoreOptions{})
		pcDown := newPeerChan(down, csDown, nil)
		pcUp.cs.attach(pcUp)
		csDown.attach(pcDown)
		ctx := context.Background()
		for _, m := range splitMessages(data) {
			if up.killErr == nil {
				pcUp.onMessage(ctx, m)
			}
			if down.killErr == nil {
				pcDown.onMessage(ctx, m)
			}
		}
		for s, ok := up.reqs.pop(); ok && up.killErr == nil; s, ok = up.reqs.pop() {
			s.pc.answer(ctx, s.req)
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := (&Handle{cs: csDown}).Synced(sctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := reader.Audit(ctx); err != nil {
			t.Fatalf("reader holds unverified data: %+v, %v", rep, err)
		}
		for _, p := range []*peer{up, down} {
			if p.out.bytes > o.HighWater+core.MaxBlockSize {
				t.Fatalf("outbox of %d bytes", p.out.bytes)
			}
		}
	})
}

// fuzzSeeds are message sequences a real exchange has.
func fuzzSeeds(f *testing.F) [][]byte {
	ctx := context.Background()
	w := newWriter(f, 40)
	frame := func(ms ...wire.Message) []byte {
		var b []byte
		for _, m := range ms {
			fr, _ := wire.AppendFrame(nil, 0, m)
			_, n := binary.Uvarint(fr)
			_, k := binary.Uvarint(fr[n:])
			body := fr[n+k:]
			b = append(b, byte(m.Type()), byte(len(body)))
			b = append(b, body...)
		}
		return b
	}
	p, _ := w.Proof(ctx, 3, 0, false, nil)
	v, _ := w.Get(ctx, 3, core.GetOptions{NoWait: true})
	seeds := [][]byte{
		frame(wire.Status{Uploading: wire.Bool(true), Downloading: wire.Bool(false)}),
		frame(wire.Want{Start: 0, Length: wire.Uint64(wantSpan)}, wire.Request{Index: 3, Nodes: wire.Uint64(0)}),
		frame(wire.Have{Start: 0, Length: wire.Uint64(wantSpan), Bitfield: w.HaveBitfield(0, wantSpan)}),
		frame(wire.Have{Start: 0, Length: wire.Uint64(40)}, wire.Data{Index: 3, Value: v[:min(len(v), 100)], Nodes: p.Nodes[:1]}),
		frame(wire.Have{Start: 39}, wire.Unhave{Start: 0, Length: wire.Uint64(40)}, wire.Request{Index: 2, Hash: wire.Bool(true)}),
		frame(wire.Options{Extensions: []string{"a", "b"}}, wire.Extension{ID: 1, Payload: []byte("x")}, wire.Cancel{Index: 3}),
		frame(wire.Request{Index: 0, Bytes: wire.Uint64(500)}, wire.Request{Index: 1 << 40}),
	}
	if os.Getenv("HSP_WRITE_FUZZ_CORPUS") != "" {
		writeCorpus(f, seeds)
	}
	return seeds
}
