package replicate

import (
	"math"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// maxScan bounds the blocks one pick looks at.
const maxScan = 1 << 14

// reqKey names an outstanding request: a block, or its proof alone.
type reqKey struct {
	index uint64
	hash  bool
}

// request is one outstanding request to a peer.
type request struct {
	sent    time.Time
	expired bool // timed out: given back, but its answer is still welcome
}

// pump asks every peer for what it can give, starting with a different
// peer each time. cs.mu is held.
func (cs *coreState) pump() {
	n := len(cs.chans)
	if n == 0 || !cs.downloading() {
		return
	}
	cs.rr = (cs.rr + 1) % n
	for k := range n {
		cs.fill(cs.chans[(cs.rr+k)%n])
	}
}

// fill sends pc requests until its window or byte cap is reached or it has
// nothing we need. Explicit gets may use MinWindow slots beyond the window,
// as JS allows 32 requests instead of 16 while gets wait. cs.mu is held.
func (cs *coreState) fill(pc *peerChan) {
	for len(cs.gets) > 0 && cs.canRequest(pc, cs.r.opts.MinWindow) {
		i, ok := cs.pickGet(pc)
		if !ok {
			break
		}
		cs.request(pc, i, false)
	}
	for cs.canRequest(pc, 0) {
		i, hash, ok := cs.pick(pc)
		if !ok {
			return
		}
		cs.request(pc, i, hash)
	}
}

func (cs *coreState) canRequest(pc *peerChan, extra int) bool {
	o := &cs.r.opts
	return !pc.closed && pc.remoteUploading && pc.active < pc.window+extra &&
		(pc.backoff.IsZero() || o.Now().After(pc.backoff)) &&
		float64(pc.active)*cs.avgBlock < float64(o.MaxPeerBytes) &&
		cs.imp.bytes < o.ImportQueueBytes
}

// pickGet chooses a block an explicit get waits for that pc has; a
// deferred one is not kept waiting.
func (cs *coreState) pickGet(pc *peerChan) (uint64, bool) {
	for i := range cs.gets {
		if !pc.remote.get(i) || cs.has(i) {
			continue
		}
		if r := cs.reserved[i]; r == deferredMark {
			cs.undefer(i)
		} else if r != nil {
			continue
		}
		return i, true
	}
	return 0, false
}

// pick chooses what to ask pc for next: explicit gets first, then a proof
// for Update, then the spans asked for (everything, for a full core).
func (cs *coreState) pick(pc *peerChan) (uint64, bool, bool) {
	if i, ok := cs.pickGet(pc); ok {
		return i, false, true
	}
	if cs.updates > 0 && pc.remoteLength > cs.c.Length() && pc.remote.get(pc.remoteLength-1) {
		if _, busy := pc.inflight[reqKey{pc.remoteLength - 1, true}]; !busy {
			return pc.remoteLength - 1, true, true
		}
	}
	if cs.full() {
		cs.cursor = cs.advance(cs.cursor, pc.remoteLength)
		pc.scan = max(pc.scan, cs.cursor)
		if i, ok := cs.scan(pc, &pc.scan, pc.remoteLength); ok {
			return i, false, true
		}
	}
	if cs.full() {
		return 0, false, false // the spans are within what full mode scans
	}
	for _, sp := range cs.spans {
		sp.cursor = cs.advance(sp.cursor, sp.end)
		pos := max(pc.spanPos[sp], sp.cursor)
		i, ok := cs.scan(pc, &pos, min(sp.end, pc.remoteLength))
		pc.spanPos[sp] = pos
		if ok {
			return i, false, true
		}
	}
	return 0, false, false
}

// advance moves a cursor past stored blocks.
func (cs *coreState) advance(cursor, end uint64) uint64 {
	for cursor < end && cs.reserved[cursor] == nil && cs.has(cursor) {
		cursor++
	}
	return cursor
}

// scan finds the first block from *pos below end that pc has and nobody
// was asked for, moving *pos past what it skipped. A block whose
// predecessor in its group is still in flight is deferred (order.go).
func (cs *coreState) scan(pc *peerChan, pos *uint64, end uint64) (uint64, bool) {
	if i, ok := cs.pickDeferred(pc); ok {
		return i, true
	}
	i := *pos
	for steps := 0; i < end && steps < maxScan; i, steps = i+1, steps+1 {
		if !pc.remote.get(i) || cs.reserved[i] != nil || cs.has(i) {
			continue
		}
		if cs.shouldDefer(i) {
			cs.deferBlock(i)
			continue
		}
		*pos = i + 1
		return i, true
	}
	*pos = i
	return 0, false
}

// request asks pc for block i (or its proof alone) with our digest.
func (cs *coreState) request(pc *peerChan, i uint64, hash bool) {
	if !hash {
		cs.reserved[i] = pc
	}
	pc.inflight[reqKey{i, hash}] = &request{sent: cs.r.opts.Now()}
	pc.active++
	pc.send(wire.Request{Index: i, Bytes: wire.Uint64(0), Hash: wire.Bool(hash), Nodes: wire.Uint64(cs.digest(pc, i, hash))})
}

// answered takes the request a Data message answers off pc's books and
// measures the round trip. It reports false for unrequested Data.
func (cs *coreState) answered(pc *peerChan, d wire.Data) bool {
	k := reqKey{d.Index, d.Value == nil}
	req := pc.inflight[k]
	if req == nil && d.Value != nil {
		k.hash = true // a hash request may be answered with the block
		req = pc.inflight[k]
	}
	if req == nil {
		if pc.seeks > 0 && d.Value != nil {
			pc.seeks--
			return true
		}
		return false
	}
	delete(pc.inflight, k)
	if !req.expired {
		if pc.active >= pc.window && pc.window < cs.r.opts.MaxWindow && !pc.queueing() {
			pc.window++ // slow start: a full window doubles per round trip
		}
		pc.active--
		pc.answers++
		pc.sampleRTT(cs.r.opts.Now().Sub(req.sent))
	}
	return true
}

// sampleRTT folds one round trip into the smoothed one (gain 1/8) and
// the lowest seen.
func (pc *peerChan) sampleRTT(rtt time.Duration) {
	if pc.minRTT == 0 || rtt < pc.minRTT {
		pc.minRTT = rtt
	}
	if pc.srtt == 0 {
		pc.srtt = rtt
		return
	}
	pc.srtt += (rtt - pc.srtt) / 8
}

// queueSlack is the queueing delay a window may add before it stops
// growing: beyond it, more requests only wait longer at the responder
// (a JS responder queues everything it is asked for).
const queueSlack = 2 * time.Millisecond

// queueing reports whether the round trip grew well past its floor: the
// window is more than the link and the responder can use.
func (pc *peerChan) queueing() bool {
	return pc.srtt > 2*pc.minRTT+queueSlack
}

// tick expires old requests and resizes pc's window. cs.mu is held.
func (cs *coreState) tick(pc *peerChan, now time.Time, every time.Duration) {
	o := &cs.r.opts
	expired := false
	for k, req := range pc.inflight {
		age := now.Sub(req.sent)
		switch {
		case req.expired && age > 4*o.RequestTimeout:
			delete(pc.inflight, k)
		case !req.expired && age > o.RequestTimeout:
			req.expired, expired = true, true
			pc.active--
			cs.release(pc, k.index)
		}
	}
	if expired { // let the other peers take what it gave back
		pc.backoff = now.Add(o.RequestTimeout / 2)
	}
	pc.resize(o, every, expired)
	if expired {
		cs.r.opts.Logger.Debug("requests timed out; giving them to other peers", "core", cs.dk, "peer", pc.p.info.RemotePublicKey)
	}
	cs.pump()
	cs.endCheck(pc)
}

// resize sizes the window once a tick. After a timeout it halves. While
// the round trip stays near its floor, a full window grows by one per
// answer (see answered), doubling every round trip: the longer the round
// trip, the more requests it takes to fill the link, and the larger the
// window gets. Once requests queue at the responder (the smoothed round
// trip past twice its floor plus queueSlack) it stops growing, and past
// four times it shrinks by an eighth; it never drops below twice the
// bandwidth-delay product (answers per second times the floor round
// trip), within MinWindow..MaxWindow.
func (pc *peerChan) resize(o *Options, every time.Duration, expired bool) {
	rate := float64(pc.answers) / every.Seconds()
	pc.answers = 0
	pc.rate = (pc.rate + rate) / 2
	w := pc.window
	switch {
	case expired:
		w /= 2
	case pc.srtt > 4*pc.minRTT+2*queueSlack:
		w -= w / 8
	}
	if rate > 0 {
		w = max(w, int(math.Ceil(2*pc.rate*pc.minRTT.Seconds())))
	}
	pc.window = min(max(w, o.MinWindow), o.MaxWindow)
}
