package replicate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// importQueue holds received blocks until a batch verifies and commits
// them. Guarded by coreState.mu.
type importQueue struct {
	items   []item
	bytes   int
	running bool
	idle    chan struct{} // closed while nothing waits or runs
}

// item is one received Data message, copied out of its frame.
type item struct {
	d      core.Data
	from   *peerChan
	at     time.Time
	claims []uint64 // nodes later digests to its peer count on (claims.go)
}

func (it item) size() int { return len(it.d.Value) + 40*len(it.d.Nodes) + len(it.d.Signature) }

// copyData keeps a Data message past its frame. The value is most of its
// frame, whose body wire allocates for that frame alone and hands over
// (decoded slices belong to the receiver), so it is kept as it is; the
// signature, small, is copied so that a proof-only reply does not pin its
// frame; the nodes were decoded into a slice of their own.
func copyData(d wire.Data) core.Data {
	return core.Data{Index: d.Index, Value: d.Value, Nodes: d.Nodes, Signature: slices.Clone(d.Signature)}
}

// enqueue queues a received block for import. cs.mu is held.
func (cs *coreState) enqueue(it item) {
	q := &cs.imp
	q.items = append(q.items, it)
	q.bytes += it.size()
	if !q.running {
		q.running = true
		q.idle = make(chan struct{})
		go cs.importLoop()
	}
}

// importLoop imports batches until the queue is empty.
func (cs *coreState) importLoop() {
	for {
		batch := cs.takeBatch()
		if batch == nil {
			return
		}
		cs.importBatch(batch)
	}
}

// takeBatch takes the next batch off the queue, lingering briefly while it
// is small; nil when the queue is empty (the loop then ends).
func (cs *coreState) takeBatch() []item {
	o := &cs.r.opts
	cs.mu.Lock()
	defer cs.mu.Unlock()
	q := &cs.imp
	if len(q.items) > 0 && len(q.items) < o.BatchBlocks/4 {
		if wait := o.BatchLinger - o.Now().Sub(q.items[0].at); wait > 0 {
			cs.mu.Unlock()
			time.Sleep(wait)
			cs.mu.Lock()
		}
	}
	if len(q.items) == 0 || cs.ctx.Err() != nil {
		q.running = false
		close(q.idle)
		return nil
	}
	n, bytes := 0, 0
	for n < len(q.items) && n < o.BatchBlocks && (n == 0 || bytes+q.items[n].size() <= o.BatchBytes) {
		bytes += q.items[n].size()
		n++
	}
	batch := slices.Clone(q.items[:n])
	q.items = slices.Delete(q.items, 0, n)
	q.bytes -= bytes
	return batch
}

// importBatch verifies and commits one batch, in the order the blocks
// arrived: a reply may rely on nodes an earlier one from its peer brings.
func (cs *coreState) importBatch(batch []item) {
	ds := make([]core.Data, len(batch))
	for i, it := range batch {
		ds[i] = it.d
	}
	n, err := cs.c.ImportBatch(cs.ctx, ds)
	cs.mu.Lock()
	cs.committed(batch[:n])
	var bad *peerChan
	if n < len(batch) {
		bad = cs.refused(batch, n, err)
	}
	cs.pump()
	cs.mu.Unlock()
	if bad != nil {
		bad.p.kill(ErrBadData, fmt.Errorf("core %v block %d: %w", cs.dk, batch[n].d.Index, err))
	}
}

// committed books the stored blocks, frees their reservations and
// announces them, one Have per run. cs.mu is held.
func (cs *coreState) committed(done []item) {
	var idx []uint64
	var from *peer // the peer whose stats add up in st
	var st Stats
	for _, it := range done {
		it.from.unclaim(it.claims)
		if it.d.Value == nil {
			continue
		}
		i := it.d.Index
		idx = append(idx, i)
		if it.from.remoteAck {
			it.from.send(wire.Have{Start: i, Length: wire.Uint64(1), Ack: wire.Bool(true)})
		}
		if cs.reserved[i] == importingMark {
			delete(cs.reserved, i)
		}
		n := uint64(len(it.d.Value))
		cs.emit(Event{Kind: Download, Peer: it.from.p.info, Index: i, Bytes: n})
		proof := uint64(40*len(it.d.Nodes) + len(it.d.Signature))
		cs.stats.DownloadedBlocks++
		cs.stats.DownloadedBytes += n
		cs.stats.ProofBytes += proof
		if it.from.p != from {
			if from != nil {
				from.addStats(st)
			}
			from, st = it.from.p, Stats{}
		}
		st.DownloadedBlocks++
		st.DownloadedBytes += n
		st.ProofBytes += proof
		cs.avgBlock += (float64(n) - cs.avgBlock) / 16
	}
	if from != nil {
		from.addStats(st)
	}
	cs.announce(runsOf(idx))
	if cs.r.opts.NonLive {
		for _, pc := range cs.chans {
			cs.endCheck(pc)
		}
	}
}

// runsOf sorts block indices into runs of consecutive blocks.
func runsOf(idx []uint64) []run {
	slices.Sort(idx)
	var runs []run
	for _, i := range idx {
		if k := len(runs) - 1; k >= 0 && runs[k].start+runs[k].n == i {
			runs[k].n++
		} else if k < 0 || runs[k].start+runs[k].n < i {
			runs = append(runs, run{i, 1})
		}
	}
	return runs
}

// refused handles a batch that stopped at batch[n]: a block that does not
// verify costs its sender the connection (returned) and the blocks after
// it go back to the front of the queue; any other failure (storage) drops
// the rest of the batch, to be fetched again. cs.mu is held.
func (cs *coreState) refused(batch []item, n int, err error) *peerChan {
	bad := batch[n]
	rest := batch[n+1:]
	var blame *peerChan
	if errors.Is(err, core.ErrVerify) || errors.Is(err, core.ErrBlockTooLarge) {
		blame = bad.from
		rest = slices.DeleteFunc(slices.Clone(rest), func(it item) bool { return it.from == blame })
		cs.imp.items = append(rest, cs.imp.items...)
		for _, it := range rest {
			cs.imp.bytes += it.size()
		}
		rest = nil
	} else if !errors.Is(err, context.Canceled) {
		cs.r.opts.Logger.Error("import failed", "core", cs.dk, "err", err)
	}
	for _, it := range append(rest, bad) {
		cs.unreserve(it.d.Index)
		it.from.unclaim(it.claims)
	}
	if blame != nil {
		for _, it := range batch[n+1:] {
			if it.from == blame {
				cs.unreserve(it.d.Index)
				it.from.unclaim(it.claims)
			}
		}
	}
	return blame
}

// unreserve frees a block that was waiting for import.
func (cs *coreState) unreserve(i uint64) {
	if cs.reserved[i] == importingMark {
		delete(cs.reserved, i)
		cs.rewind(i)
		cs.arrived(i)
	}
}
