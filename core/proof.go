package core

import (
	"context"
	"errors"
	"fmt"
)

// maxTreeIndex bounds the flat-tree indices accepted from peers, so index
// arithmetic can never overflow.
const maxTreeIndex = 1 << 62

// Proof is what a responder sends with a block: tree nodes in wire order
// (the node itself for hash requests, path siblings bottom-up, then the
// other roots left to right) and, when the proof reaches the roots, the
// signature over the first VerifiedBy/2 blocks.
type Proof struct {
	Nodes      []Node
	Signature  []byte
	VerifiedBy uint64
}

// Digest returns the number a requester puts in Request.nodes for block
// index: which nodes on the path to the root it already holds (1 = all that
// matter, 0 = nothing). It is computed exactly as hypercore 9 does.
func (c *Hypercore) Digest(index uint64) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return digest(c.tree, 2*index)
}

func digest(tree *Bitfield, x uint64) uint64 { return digestOf(tree.Get, tree.Len(), x) }

// RemoteTree is what a responder knows of one peer's tree nodes, learned from
// the digests of its requests. hypercore 9 keeps one per peer for the life of
// a connection and sends fewer nodes as it learns; a fresh one per request
// gives the stateless proof.
type RemoteTree struct{ bits *Bitfield }

// NewRemoteTree returns an empty remote tree.
func NewRemoteTree() *RemoteTree { return &RemoteTree{bits: NewBitfield()} }

func (t *RemoteTree) has(x uint64) bool { return t.bits.Get(x) }

// mark records x; a node whose sibling is known makes its parent known too.
func (t *RemoteTree) mark(x uint64) {
	if !t.bits.Set(x, true) {
		return
	}
	for x < maxTreeIndex && t.bits.Get(sibling(x)) {
		x = parent(x)
		if !t.bits.Set(x, true) {
			return
		}
	}
}

// ErrNoProof: the responder lacks the nodes to prove a block. JS peers end
// the connection when asked for such a block.
var ErrNoProof = errors.New("no proof available")

// Proof builds the proof of block index for a request with the given digest.
// hash asks for the block's own leaf node first (a request without data).
// remote is the peer's RemoteTree (nil for a stateless proof); it learns
// from the digest.
func (c *Hypercore) Proof(ctx context.Context, index, digest uint64, hash bool, remote *RemoteTree) (Proof, error) {
	if remote == nil {
		remote = NewRemoteTree()
	}
	c.mu.RLock()
	idx, err := c.proofIndices(2*index, digest, hash, remote)
	length := c.header.Length
	c.mu.RUnlock()
	if err != nil {
		return Proof{}, fmt.Errorf("proof of block %d: %w", index, err)
	}
	p := Proof{VerifiedBy: idx.verifiedBy}
	if p.Nodes, err = c.nodes(ctx, idx.nodes); err != nil {
		return Proof{}, fmt.Errorf("proof of block %d: read nodes: %w", index, err)
	}
	if p.VerifiedBy > 0 {
		if p.VerifiedBy/2 > length {
			return Proof{}, fmt.Errorf("proof of block %d: %w", index, ErrNoProof)
		}
		if p.Signature, err = c.st.Signature(ctx, p.VerifiedBy/2); err != nil {
			return Proof{}, fmt.Errorf("proof of block %d: read signature: %w", index, err)
		}
	}
	return p, nil
}

type proofIndices struct {
	nodes      []uint64
	verifiedBy uint64
}

// proofIndices decides which nodes a proof holds. The caller holds c.mu.
func (c *Hypercore) proofIndices(x, digest uint64, hash bool, remote *RemoteTree) (proofIndices, error) {
	var p proofIndices
	if !c.tree.Get(x) {
		return p, ErrNoProof
	}
	if hash {
		p.nodes = append(p.nodes, x)
	}
	if digest == 1 {
		return p, nil
	}
	c.learnDigest(x, digest, remote)
	for n := x; !remote.has(n); n = parent(n) {
		sib := sibling(n)
		if !c.tree.Get(sib) {
			return c.addRoots(p, n, remote)
		}
		if !remote.has(sib) {
			p.nodes = append(p.nodes, sib)
		}
		if n >= maxTreeIndex {
			return p, ErrNoProof
		}
	}
	return p, nil
}

// learnDigest marks in remote the nodes a request digest says the peer holds.
func (c *Hypercore) learnDigest(x, digest uint64, remote *RemoteTree) {
	hasRoot := digest&1 == 1
	n := x
	for d := digest >> 1; d != 0 && n < maxTreeIndex; d >>= 1 {
		if d == 1 && hasRoot {
			c.markIfHave(remote, n)
			if sibling(n) < n {
				n = sibling(n)
			}
			for _, r := range fullRoots(rightSpan(n) + 2) {
				c.markIfHave(remote, r)
			}
			return
		}
		if d&1 == 1 {
			c.markIfHave(remote, sibling(n))
		}
		n = parent(n)
	}
}

func (c *Hypercore) markIfHave(remote *RemoteTree, x uint64) {
	if c.tree.Get(x) {
		remote.mark(x)
	}
}

// addRoots finishes a proof that reached root n: the other roots of the
// signed length, unless the peer has them.
func (c *Hypercore) addRoots(p proofIndices, n uint64, remote *RemoteTree) (proofIndices, error) {
	p.verifiedBy = 2 * c.header.Length
	found := false
	for _, r := range fullRoots(p.verifiedBy) {
		if r == n {
			found = true
			continue
		}
		if !remote.has(r) {
			p.nodes = append(p.nodes, r)
		}
	}
	if !found {
		return p, ErrNoProof
	}
	return p, nil
}
