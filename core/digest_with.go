package core

// DigestWith is Digest for a requester that, by the time the reply is
// verified, will also hold the tree nodes extra reports: those its
// earlier, still unverified replies from the same peer bring, imported in
// order before this one. top is one past the highest such node. The
// requester must be sure of them; a wrong claim makes the reply
// unverifiable.
func (c *Hypercore) DigestWith(index uint64, extra func(x uint64) bool, top uint64) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	has := func(x uint64) bool { return c.tree.Get(x) || extra(x) }
	return digestOf(has, max(c.tree.Len(), top), 2*index)
}

// digestOf is digest over any set of held nodes; stored is one past the
// highest of them.
func digestOf(has func(uint64) bool, stored, x uint64) uint64 {
	if has(x) {
		return 1
	}
	sib := sibling(x)
	limit := max(sib+2, (stored+7)/8*8)
	var d uint64
	bit := uint64(2)
	par := parent(sib)
	for (rightSpan(sib) < limit || leftSpan(par) > 0) && bit != 0 {
		if has(sib) {
			d += bit
		}
		if has(par) {
			d += 2 * bit
			d |= 1
			if d+1 == 4*bit {
				return 1
			}
			return d
		}
		sib = sibling(par)
		par = parent(sib)
		bit *= 2
	}
	return d
}
