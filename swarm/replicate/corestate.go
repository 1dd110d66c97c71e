package replicate

import (
	"context"
	"slices"
	"sync"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// coreState is one core's replication: its channels on every peer, the
// reservation set and the import queue.
type coreState struct {
	r      *Replicator
	c      Core
	key    core.Key
	dk     core.DiscoveryKey
	opts   CoreOptions
	ctx    context.Context
	cancel context.CancelFunc
	added  bool // guarded by r.mu

	mu        sync.Mutex
	chans     []*peerChan
	rr        int                  // where the next pump starts, for fairness
	reserved  map[uint64]*peerChan // block -> the peer asked, or importingMark
	gets      map[uint64]int       // explicit gets waiting, by block
	spans     []*span              // downloads asked for
	ready     []uint64             // deferred blocks whose predecessor arrived (order.go)
	deferredN int                  // blocks deferred
	cursor    uint64               // every block below it is stored
	updates   int                  // Update calls waiting
	avgBlock  float64              // running mean block size, for byte caps
	stats     Stats
	imp       importQueue
	onEvent   func(Event) // CoreOptions.OnEvent, or an Add's later
	exts      []string    // our extension names, sorted: Options.Extensions and those registered
}

// optionsMessage is the Options we send on the core's channels. cs.mu is
// held.
func (cs *coreState) optionsMessage() wire.Options {
	m := wire.Options{Extensions: cs.exts}
	if cs.r.opts.Ack {
		m.Ack = wire.Bool(true)
	}
	return m
}

// importingMark reserves a block that arrived and waits for import.
var importingMark = &peerChan{}

// span is a range of blocks a Download asked for.
type span struct {
	start, end uint64
	cursor     uint64 // every block of the span below it is stored
}

// dropSpan forgets a finished download. cs.mu is held.
func (cs *coreState) dropSpan(sp *span) {
	cs.spans = slices.DeleteFunc(cs.spans, func(s *span) bool { return s == sp })
	for _, pc := range cs.chans {
		delete(pc.spanPos, sp)
	}
}

func newCoreState(r *Replicator, c Core, opts CoreOptions) *coreState {
	ctx, cancel := context.WithCancel(r.ctx)
	cs := &coreState{
		r: r, c: c, key: c.Key(), dk: c.DiscoveryKey(), opts: opts, ctx: ctx, cancel: cancel,
		reserved: map[uint64]*peerChan{}, gets: map[uint64]int{}, avgBlock: 16 << 10,
		onEvent: opts.OnEvent, exts: r.exts,
	}
	cs.imp.idle = make(chan struct{})
	close(cs.imp.idle)
	if c.Writable() {
		go cs.watchAppends()
	}
	return cs
}

func (cs *coreState) stop() { cs.cancel() }

// downloading reports whether the core fetches blocks at all; full whether
// it fetches every block its peers have.
func (cs *coreState) downloading() bool { return !cs.c.Writable() }
func (cs *coreState) full() bool        { return cs.downloading() && !cs.opts.Sparse }
func (cs *coreState) uploading() bool {
	return !cs.opts.NoUpload && (cs.opts.Serve == nil || cs.opts.Serve())
}

// has reports whether block i is stored; a closed core has everything, so
// that nothing more is asked for it.
func (cs *coreState) has(i uint64) bool {
	ok, err := cs.c.Has(cs.ctx, i)
	return ok || err != nil
}

// idle reports whether no peer replicates the core any more.
func (cs *coreState) idle() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.chans) == 0
}

func (cs *coreState) attach(pc *peerChan) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.chans = append(cs.chans, pc)
	cs.emit(Event{Kind: PeerAdd, Peer: pc.p.info})
}

// adopt takes the event hook of an Add for a core that was only served;
// the rest of its options stay as its Lookup gave them.
func (cs *coreState) adopt(opts CoreOptions) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.onEvent = opts.OnEvent
}

// emit hands ev to the core's event hook. cs.mu is held.
func (cs *coreState) emit(ev Event) {
	if cs.onEvent != nil {
		cs.onEvent(ev)
	}
}

// detach drops a channel and gives its reservations back at once.
func (cs *coreState) detach(pc *peerChan) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for i, c := range cs.chans {
		if c == pc {
			cs.chans = append(cs.chans[:i], cs.chans[i+1:]...)
			break
		}
	}
	pc.closed = true
	cs.releaseAll(pc)
	cs.pump()
	cs.emit(Event{Kind: PeerRemove, Peer: pc.p.info})
}

// releaseAll gives back every block pc was asked for. cs.mu is held.
func (cs *coreState) releaseAll(pc *peerChan) {
	for k := range pc.inflight {
		cs.release(pc, k.index)
	}
	clear(pc.inflight)
	pc.active = 0
}

// release gives block i back if pc holds it. cs.mu is held.
func (cs *coreState) release(pc *peerChan, i uint64) {
	if cs.reserved[i] == pc {
		delete(cs.reserved, i)
		cs.rewind(i)
		cs.arrived(i)
	}
}

// rewind makes every peer's scans look at block i again.
func (cs *coreState) rewind(i uint64) {
	for _, pc := range cs.chans {
		pc.rewind(i)
	}
}

// rewind makes pc's scans look at block i again.
func (pc *peerChan) rewind(i uint64) {
	pc.scan = min(pc.scan, i)
	for sp, pos := range pc.spanPos {
		if i < pos {
			pc.spanPos[sp] = i
		}
	}
}

// watchAppends announces local appends to every peer that wants them.
func (cs *coreState) watchAppends() {
	last := cs.c.Length()
	for {
		changed := cs.c.Changed()
		if n := cs.c.Length(); n > last {
			cs.mu.Lock()
			cs.announce([]run{{last, n - last}})
			cs.mu.Unlock()
			last = n
		}
		select {
		case <-changed:
		case <-cs.ctx.Done():
			return
		}
	}
}

// run is a range of blocks [start, start+n).
type run struct{ start, n uint64 }

// announce sends a Have for each run to every peer that sent a Want.
// cs.mu is held.
func (cs *coreState) announce(runs []run) {
	for _, pc := range cs.chans {
		if !pc.remoteWant {
			continue
		}
		for _, r := range runs {
			pc.send(haveRun(r))
		}
	}
}
