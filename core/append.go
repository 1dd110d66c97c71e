package core

import (
	"context"
	"fmt"
	"slices"
)

// Append adds blocks at the end of the core under one signature. The batch
// of data, tree nodes, signature and new length is committed atomically and
// durably before Append returns.
func (c *Hypercore) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	return c.AppendHashed(ctx, blocks, nil)
}

// AppendHashed is Append with the blocks' leaf hashes computed already
// (LeafHash of each block, in order), as a server hashing blocks while more
// of them arrive has them; nil hashes are computed here. The hashes must be
// those of the blocks: they are signed as given.
func (c *Hypercore) AppendHashed(ctx context.Context, blocks [][]byte, hashes [][32]byte) (uint64, error) {
	if hashes != nil && len(hashes) != len(blocks) {
		return 0, fmt.Errorf("append %d blocks with %d leaf hashes", len(blocks), len(hashes))
	}
	if !c.Writable() {
		return 0, fmt.Errorf("append to %s: %w", c.kp.PublicKey, ErrNotWritable)
	}
	for i, b := range blocks {
		if len(b) > MaxBlockSize {
			return 0, fmt.Errorf("append block %d of %d bytes: %w", i, len(b), ErrBlockTooLarge)
		}
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosed() {
		return 0, fmt.Errorf("append: %w", ErrClosed)
	}
	if len(blocks) == 0 {
		return c.header.Length, nil
	}
	if hashes == nil {
		hashes = LeafHashes(blocks)
	}
	b, roots := c.appendBatch(blocks, hashes)
	if err := c.st.Commit(ctx, b); err != nil {
		return 0, fmt.Errorf("append %d blocks at %d: %w", len(blocks), c.header.Length, err)
	}
	c.publish(b, roots)
	return b.Header.Length, nil
}

// appendBatch builds the batch for an append. The caller holds writeMu, so
// the header, roots and bitfields cannot change underneath it.
func (c *Hypercore) appendBatch(blocks [][]byte, hashes [][32]byte) (*Batch, []Node) {
	h := c.header
	roots := slices.Clone(c.roots)
	data, tree := newPageEdit(c.data), newPageEdit(c.tree)
	b := &Batch{Sync: true, Blocks: make([]Block, 0, len(blocks)), Nodes: make([]Node, 0, 2*len(blocks))}
	for k, block := range blocks {
		i := h.Length
		leaf := Node{Index: 2 * i, Hash: hashes[k], Size: uint64(len(block))}
		b.Blocks = append(b.Blocks, Block{Index: i, Data: block})
		b.Nodes = append(b.Nodes, leaf)
		data.set(i)
		tree.set(leaf.Index)
		roots = append(roots, leaf)
		for len(roots) >= 2 && roots[len(roots)-2].Index == sibling(roots[len(roots)-1].Index) {
			p := ParentNode(roots[len(roots)-2], roots[len(roots)-1])
			roots = append(roots[:len(roots)-2], p)
			b.Nodes = append(b.Nodes, p)
			tree.set(p.Index)
		}
		h.Length++
		h.ByteLength += uint64(len(block))
	}
	b.Header = h
	b.Signatures = []SignatureAt{{Length: h.Length, Signature: Sign(c.kp.SecretKey, roots, h.Length)}}
	b.DataPages, b.TreePages = data.list(), tree.list()
	return b, roots
}

func (c *Hypercore) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}
