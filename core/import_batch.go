package core

import (
	"context"
	"fmt"
)

// treeView is the tree a Data message is verified against: the committed
// tree alone (Import), or the committed tree with the nodes of the blocks
// verified before it in the same batch (ImportBatch). The caller holds
// writeMu, so the committed part cannot change underneath a view.
type treeView interface {
	hasNode(x uint64) bool
	node(ctx context.Context, x uint64) (Node, error)
	header() Header
}

// committedView is the committed tree.
type committedView struct{ c *Hypercore }

func (v committedView) hasNode(x uint64) bool {
	v.c.mu.RLock()
	defer v.c.mu.RUnlock()
	return v.c.tree.Get(x)
}

func (v committedView) node(ctx context.Context, x uint64) (Node, error) {
	return v.c.st.Node(ctx, x)
}

func (v committedView) header() Header { return v.c.header }

// overlay is the committed tree plus what a batch verified so far, and the
// batch being built from it.
type overlay struct {
	c          *Hypercore
	nodes      map[uint64]Node
	blocks     map[uint64]bool
	hdr        Header
	roots      []Node // the newest roots learnt, nil if none
	batch      *Batch
	data, tree *pageEdit
}

// newOverlay starts a batch of about n messages.
func newOverlay(c *Hypercore, n int) *overlay {
	return &overlay{
		c: c, nodes: make(map[uint64]Node, 2*n), blocks: make(map[uint64]bool, n), hdr: c.header,
		batch: &Batch{Sync: true, Blocks: make([]Block, 0, n), Nodes: make([]Node, 0, 2*n)},
		data:  newPageEdit(c.data), tree: newPageEdit(c.tree),
	}
}

func (o *overlay) hasNode(x uint64) bool {
	if _, ok := o.nodes[x]; ok {
		return true
	}
	return committedView{o.c}.hasNode(x)
}

func (o *overlay) node(ctx context.Context, x uint64) (Node, error) {
	if n, ok := o.nodes[x]; ok {
		return n, nil
	}
	return o.c.st.Node(ctx, x)
}

func (o *overlay) header() Header { return o.hdr }

// holds reports whether the core or the batch already has what d would add.
func (o *overlay) holds(d Data) bool {
	if d.Value != nil {
		return o.blocks[d.Index] || o.c.holds(d)
	}
	return o.hasNode(2*d.Index) || o.c.holds(d)
}

// add puts a verified Data message into the batch.
func (o *overlay) add(d Data, v verified) {
	b := o.batch
	for _, n := range v.nodes {
		if _, ok := o.nodes[n.Index]; !ok {
			o.nodes[n.Index] = n
			b.Nodes = append(b.Nodes, n)
			o.tree.set(n.Index)
		}
	}
	if d.Value != nil {
		b.Blocks = append(b.Blocks, Block{Index: d.Index, Data: d.Value})
		o.blocks[d.Index] = true
		o.data.set(d.Index)
	}
	if v.signature != nil {
		b.Signatures = append(b.Signatures, *v.signature)
	}
	if v.roots != nil && v.header.Length > o.hdr.Length {
		o.hdr, o.roots = v.header, v.roots
	}
}

// ImportBatch verifies ds in order, each against the committed tree and
// the messages before it in ds, and commits those that verify in one
// atomic, durable batch, so that a crash leaves either all of them or none.
// It returns how many messages from the front of ds are now stored (those
// already held count too); when that is less than len(ds), err tells why
// ds[n] was refused (wrapping ErrVerify for a bad proof) and nothing from
// ds[n] on was looked at. A failed commit stores nothing and returns 0.
func (c *Hypercore) ImportBatch(ctx context.Context, ds []Data) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosed() {
		return 0, fmt.Errorf("import %d blocks: %w", len(ds), ErrClosed)
	}
	o := newOverlay(c, len(ds))
	n, verr := o.verifyAll(ctx, ds)
	b := o.batch
	if len(b.Nodes) == 0 && len(b.Blocks) == 0 && len(b.Signatures) == 0 {
		return n, verr
	}
	b.Header = o.hdr
	b.DataPages, b.TreePages = o.data.list(), o.tree.list()
	if err := c.st.Commit(ctx, b); err != nil {
		return 0, fmt.Errorf("import %d blocks: commit: %w", n, err)
	}
	c.publish(b, o.roots)
	return n, verr
}

// verifyAll adds the messages of ds that verify, in order, up to the first
// that does not.
func (o *overlay) verifyAll(ctx context.Context, ds []Data) (int, error) {
	for i, d := range ds {
		if err := checkData(d); err != nil {
			return i, fmt.Errorf("import block %d: %w", d.Index, err)
		}
		if o.holds(d) {
			continue
		}
		v, err := o.c.verify(ctx, o, d)
		if err != nil {
			return i, fmt.Errorf("import block %d: %w", d.Index, err)
		}
		o.add(d, v)
	}
	return len(ds), nil
}

// HaveBitfield returns the run-length encoded data bits of blocks [start,
// start+length), as a Have message carries them. start must be a multiple
// of 8.
func (c *Hypercore) HaveBitfield(start, length uint64) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.data.Compress(start, length)
}

// HasNode reports whether the tree node at flat-tree index x is stored.
func (c *Hypercore) HasNode(x uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tree.Get(x)
}
