package replicate

import "math/bits"

// Claims make digests fresh. Requests run far ahead of imports, so a digest
// computed from the committed tree alone misses every node the replies in
// flight will bring, and the responder resends them: about log2(window)
// nodes a block. A peer's replies are verified in the order they arrived,
// so once reply j from a peer is queued, every later reply from that same
// peer will be verified after j's leaf, its ancestors up to the committed
// tree (within the length the peer announced) and their siblings are
// stored: the verification of j computes or consumes exactly those. Those
// nodes are its claims, counted per peer; digests of later requests to
// the same peer include them. Only that peer's replies can depend on its
// claims, so a bad reply costs no other peer anything.

// claimsOf lists what verifying a block of leaf x from a peer that
// announced length will store. cs.mu is held.
func (cs *coreState) claimsOf(x, length uint64) []uint64 {
	var out []uint64
	for limit := 2 * length; x < 1<<62 && rightSpan(x) < limit && !cs.c.HasNode(x); x = parent(x) {
		out = append(out, x)
		if s := sibling(x); rightSpan(s) < limit {
			out = append(out, s)
		}
	}
	return out
}

// claim counts the claims of a queued block. cs.mu is held.
func (pc *peerChan) claim(idx []uint64) {
	if pc.claims == nil {
		pc.claims = map[uint64]int{}
	}
	for _, x := range idx {
		pc.claims[x]++
		pc.claimTop = max(pc.claimTop, x+1)
	}
}

// unclaim drops the claims of a block that was imported or refused.
func (pc *peerChan) unclaim(idx []uint64) {
	for _, x := range idx {
		if pc.claims[x]--; pc.claims[x] <= 0 {
			delete(pc.claims, x)
		}
	}
	if len(pc.claims) == 0 {
		pc.claimTop = 0
	}
}

func (pc *peerChan) claimed(x uint64) bool { return pc.claims[x] > 0 }

// digest is the request digest of block i (or its proof, for a hash
// request, which must reach a signature to teach a length: no claims) for
// pc. cs.mu is held.
func (cs *coreState) digest(pc *peerChan, i uint64, hash bool) uint64 {
	if hash || len(pc.claims) == 0 {
		return cs.c.Digest(i)
	}
	return cs.c.DigestWith(i, pc.claimed, pc.claimTop)
}

// Flat-tree index math (as in core): leaf 2i is block i; a node at depth d
// and offset o has index (2o+1)*2^d - 1.

func depth(x uint64) uint64  { return uint64(bits.TrailingZeros64(^x)) }
func offset(x uint64) uint64 { return x >> (depth(x) + 1) }

func treeIndex(d, o uint64) uint64 { return (o<<1+1)<<d - 1 }
func parent(x uint64) uint64       { return treeIndex(depth(x)+1, offset(x)>>1) }
func sibling(x uint64) uint64      { return treeIndex(depth(x), offset(x)^1) }
func rightSpan(x uint64) uint64    { return (offset(x)+1)<<(depth(x)+1) - 2 }
