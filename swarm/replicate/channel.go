package replicate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// wantSpan is the range of a Want, and the length JS recognises a Want's
// answer by.
const wantSpan = 1 << 20

// peerChan is one core on one peer. The fields after ch are guarded by
// cs.mu unless noted.
type peerChan struct {
	p  *peer
	cs *coreState
	ch *wire.Channel

	remote            bitset // blocks the peer announced
	remoteLength      uint64
	remoteUploading   bool
	remoteDownloading bool
	remoteWant        bool   // it sent a Want: announce new blocks to it
	wanted            uint64 // our Wants cover blocks below this
	inflight          map[reqKey]*request
	active            int              // inflight requests not expired
	seeks             int              // byte requests outstanding
	scan              uint64           // where this peer's next scan starts
	spanPos           map[*span]uint64 // and of each span, when sparse
	window            int
	backoff           time.Time // no new requests before it, after a timeout
	srtt, minRTT      time.Duration
	answers           int
	rate              float64
	unrequested       int
	closed            bool
	remoteAck         bool // it asked for acks (Options{ack: true})
	gotBitfield       bool // it answered a Want: we know what it has
	saidDone          bool // we said downloading: false (non-live)
	ending            bool // our Close is queued (non-live)

	claims   map[uint64]int // nodes queued replies will bring (claims.go)
	claimTop uint64

	remoteExt  []string         // Run's goroutine only
	remoteTree *core.RemoteTree // the serving goroutine only
}

func newPeerChan(p *peer, cs *coreState, ch *wire.Channel) *peerChan {
	return &peerChan{
		p: p, cs: cs, ch: ch, remoteUploading: true, remoteDownloading: true,
		inflight: map[reqKey]*request{}, window: p.r.opts.MinWindow, remoteTree: core.NewRemoteTree(),
		spanPos: map[*span]uint64{},
	}
}

// send queues m on the channel.
func (pc *peerChan) send(m wire.Message) { pc.p.out.push(pc.ch, m, nil) }

// sendPooled queues a Data whose value lives in buf, a blockBufs buffer
// given back once the frame is written.
func (pc *peerChan) sendPooled(d wire.Data, buf *[]byte) { pc.p.out.push(pc.ch, d, buf) }

// start sends what hypercore sends once both sides opened a core: Options
// with our extensions, Status (both fields, always) and a first Want.
func (pc *peerChan) start() {
	cs := pc.cs
	cs.mu.Lock()
	if len(cs.exts) > 0 || cs.r.opts.Ack {
		pc.send(cs.optionsMessage())
	}
	cs.mu.Unlock()
	pc.send(wire.Status{Uploading: wire.Bool(cs.uploading()), Downloading: wire.Bool(cs.downloading())})
	if cs.downloading() {
		cs.mu.Lock()
		pc.wantMore()
		cs.mu.Unlock()
	}
}

// wantMore sends Wants until they cover the remote's length. cs.mu is held.
func (pc *peerChan) wantMore() {
	for pc.wanted == 0 || (pc.wanted < pc.remoteLength && pc.wanted < pc.cs.r.opts.MaxRemoteBlocks) {
		pc.send(wire.Want{Start: pc.wanted, Length: wire.Uint64(wantSpan)})
		pc.wanted += wantSpan
	}
}

func (pc *peerChan) onMessage(ctx context.Context, m wire.Message) {
	switch m := m.(type) {
	case wire.Options:
		pc.remoteExt = slices.Clone(m.Extensions[:min(len(m.Extensions), 256)])
		pc.cs.mu.Lock()
		pc.remoteAck = m.Ack.Value
		pc.cs.mu.Unlock()
	case wire.Status:
		pc.onStatus(m)
	case wire.Have:
		pc.onHave(m)
	case wire.Unhave:
		pc.onUnhave(m)
	case wire.Want:
		pc.onWant(m)
	case wire.Request:
		pc.onRequest(m)
	case wire.Cancel:
		pc.p.reqs.cancel(pc, m)
	case wire.Data:
		pc.onData(m)
	case wire.Extension:
		pc.onExtension(m)
	}
}

// onStatus: a peer that stops uploading gives its reservations back.
func (pc *peerChan) onStatus(m wire.Status) {
	cs := pc.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc.remoteUploading, pc.remoteDownloading = m.Uploading.Value, m.Downloading.Value
	if !pc.remoteUploading {
		cs.releaseAll(pc)
	}
	cs.pump()
	cs.endCheck(pc)
}

// onHave records announced blocks: with a bitfield the range is replaced,
// without one the blocks Start .. Start+Length are added.
func (pc *peerChan) onHave(m wire.Have) {
	cs := pc.cs
	length := m.Length.Or(1)
	if m.Ack.Value && m.Bitfield == nil && cs.r.opts.Ack && cs.has(m.Start) {
		if f := cs.r.opts.OnAck; f != nil { // an acknowledgement, as JS reads it
			f(pc.p.info, cs.dk, m.Start)
		}
		return
	}
	if m.Start >= cs.r.opts.MaxRemoteBlocks || length > cs.r.opts.MaxRemoteBlocks-m.Start {
		return // beyond any core we would replicate
	}
	var bits []byte
	if m.Bitfield != nil {
		length = min(length, wantSpan) // what a Want's answer covers
		var err error
		if m.Start%8 != 0 {
			pc.p.kill(ErrMalformed, fmt.Errorf("have bitfield at %d, not a multiple of 8", m.Start))
			return
		}
		if bits, err = core.DecodeRLE(m.Bitfield, int((length+7)/8)); err != nil {
			pc.p.kill(ErrMalformed, fmt.Errorf("have bitfield at %d: %w", m.Start, err))
			return
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if m.Bitfield != nil {
		pc.remote.setRange(m.Start, m.Start+length, false)
		if top := pc.remote.setBytes(m.Start, bits); top > 0 {
			pc.remoteLength = max(pc.remoteLength, top)
		}
		pc.gotBitfield = true
	} else {
		pc.remote.setRange(m.Start, m.Start+length, true)
		pc.remoteLength = max(pc.remoteLength, m.Start+length)
	}
	pc.rewind(m.Start)
	if cs.downloading() {
		pc.wantMore()
	}
	cs.pump()
	cs.endCheck(pc)
}

func (pc *peerChan) onUnhave(m wire.Unhave) {
	cs := pc.cs
	length := m.Length.Or(1)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	end := min(m.Start+length, pc.remoteLength)
	if m.Start < end {
		pc.remote.setRange(m.Start, end, false)
	}
}

// onWant answers as hypercore does: Have{length - 1} first, then a Have of
// the Want's length with the bitfield (never absent), and from then on
// every new block.
func (pc *peerChan) onWant(m wire.Want) {
	cs := pc.cs
	length := m.Length.Or(0)
	if !cs.uploading() || m.Start%8192 != 0 || length%8192 != 0 || length == 0 {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !pc.remoteWant {
		pc.remoteWant = true
		if n := cs.c.Length(); n > 0 && cs.has(n-1) {
			pc.send(wire.Have{Start: n - 1})
		}
	}
	bf := cs.c.HaveBitfield(m.Start, length)
	if bf == nil {
		bf = []byte{}
	}
	pc.send(wire.Have{Start: m.Start, Length: wire.Uint64(length), Bitfield: bf})
}

// onData queues a requested block for import; unrequested Data is dropped
// and answered with Unhave, as JS does, up to a bound. The block's leaf is
// hashed here, on the peer's receiving goroutine and outside the lock, so
// that hashing overlaps the import of the batch before (a block dropped
// below was hashed for nothing: no more work than decrypting it was).
func (pc *peerChan) onData(m wire.Data) {
	d := copyData(m)
	d.HashLeaf()
	cs := pc.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !cs.answered(pc, m) {
		pc.unrequested++
		if pc.unrequested > cs.r.opts.MaxUnrequested {
			pc.p.kill(ErrUnrequested, fmt.Errorf("%d unrequested blocks", pc.unrequested))
			return
		}
		if !cs.has(m.Index) {
			pc.send(wire.Unhave{Start: m.Index})
		}
		return
	}
	if m.Value != nil {
		if cs.reserved[m.Index] == importingMark || cs.has(m.Index) {
			cs.stats.Duplicates++
			pc.p.addStats(Stats{Duplicates: 1})
			cs.pump()
			return
		}
		cs.reserved[m.Index] = importingMark
		cs.arrived(m.Index)
	}
	it := item{d: d, from: pc, at: cs.r.opts.Now()}
	if m.Value != nil {
		it.claims = cs.claimsOf(2*m.Index, pc.remoteLength)
		pc.claim(it.claims)
	}
	cs.enqueue(it)
	cs.pump()
}

func (pc *peerChan) onExtension(m wire.Extension) {
	o := &pc.cs.r.opts
	if m.ID >= uint64(len(pc.remoteExt)) || o.OnExtension == nil {
		return
	}
	name := pc.remoteExt[m.ID]
	pc.cs.mu.Lock()
	_, ok := slices.BinarySearch(pc.cs.exts, name)
	pc.cs.mu.Unlock()
	if ok {
		o.OnExtension(pc.p.info, pc.cs.dk, name, slices.Clone(m.Payload))
	}
}

// haveRun is the Have announcing r: Have{start} for one block.
func haveRun(r run) wire.Have {
	h := wire.Have{Start: r.start}
	if r.n != 1 {
		h.Length = wire.Uint64(r.n)
	}
	return h
}
