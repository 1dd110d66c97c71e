package replicate

import "math/bits"

// Request order. Blocks go out in index order, except that within each
// aligned group of groupSize blocks a block waits until the block it
// follows in bit order has arrived: block 8k+1 waits for 8k, 8k+2 for 8k,
// 8k+3 for 8k+2, and so on (clear the lowest set bit). By then the earlier
// reply's claims (claims.go) cover the later block's path: 8k+1's leaf
// came with 8k's proof, so its digest is 1 and its reply carries no proof
// at all. A group costs about one full proof plus a few nodes instead of
// one nearly full proof per block. At most maxDeferred blocks wait; past
// that, blocks go out at once.
const groupSize = 8

// deferredMark reserves a block that waits for its group predecessor.
var deferredMark = &peerChan{}

// groupPred is the block i waits for, or i itself.
func groupPred(i uint64) uint64 {
	if i%groupSize == 0 {
		return i
	}
	return i &^ (uint64(1) << bits.TrailingZeros64(i))
}

// groupNext lists the blocks that wait for p.
func groupNext(p uint64) []uint64 {
	var out []uint64
	for b := uint64(1); b < groupSize && (p == 0 || b < p&-p || p%groupSize == 0); b <<= 1 {
		out = append(out, p+b)
	}
	return out
}

// waiting reports whether block p is asked for but not arrived, or itself
// deferred. cs.mu is held.
func (cs *coreState) waiting(p uint64) bool {
	r := cs.reserved[p]
	return r != nil && r != importingMark
}

// shouldDefer reports whether block i is to wait for its predecessor.
func (cs *coreState) shouldDefer(i uint64) bool {
	return cs.deferredN < 4*cs.r.opts.MaxWindow && cs.waiting(groupPred(i))
}

func (cs *coreState) deferBlock(i uint64) {
	cs.reserved[i] = deferredMark
	cs.deferredN++
}

// arrived makes the blocks that wait for p ready: p arrived or was given
// back. cs.mu is held.
func (cs *coreState) arrived(p uint64) {
	for _, i := range groupNext(p) {
		if cs.reserved[i] == deferredMark {
			cs.ready = append(cs.ready, i)
		}
	}
}

// maxReadyScan bounds how many ready blocks one pick looks at.
const maxReadyScan = 64

// pickDeferred takes a ready deferred block pc has, looking at the first
// maxReadyScan ready ones and dropping those taken meanwhile. cs.mu is
// held.
func (cs *coreState) pickDeferred(pc *peerChan) (uint64, bool) {
	n := min(len(cs.ready), maxReadyScan)
	kept := cs.ready[:0]
	found, at := false, uint64(0)
	for _, i := range cs.ready[:n] {
		switch {
		case cs.reserved[i] != deferredMark: // taken meanwhile: drop
		case found || !pc.remote.get(i):
			kept = append(kept, i)
		default:
			found, at = true, i
		}
	}
	kept = append(kept, cs.ready[n:]...)
	clear(cs.ready[len(kept):])
	cs.ready = kept
	if found {
		cs.undefer(at)
	}
	return at, found
}

// undefer frees a deferred block, to be asked for now.
func (cs *coreState) undefer(i uint64) {
	delete(cs.reserved, i)
	cs.deferredN--
}
