package core

import (
	"context"
	"errors"
	"fmt"
)

// Audit re-verifies everything stored: each block against its leaf node,
// each stored parent against its stored children, and the newest signature
// against the roots. Appends and imports wait while it runs. The first
// inconsistency ends the audit with an error wrapping ErrCorrupt.
func (c *Hypercore) Audit(ctx context.Context) (AuditReport, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	var r AuditReport
	if c.isClosed() {
		return r, fmt.Errorf("audit: %w", ErrClosed)
	}
	if err := c.auditBlocks(ctx, &r); err != nil {
		return r, fmt.Errorf("audit %s: %w", c.kp.PublicKey, err)
	}
	if err := c.auditNodes(ctx, &r); err != nil {
		return r, fmt.Errorf("audit %s: %w", c.kp.PublicKey, err)
	}
	if err := c.loadRoots(ctx); err != nil {
		return r, fmt.Errorf("audit %s: %w", c.kp.PublicKey, err)
	}
	r.Signature = c.header.Length > 0
	return r, nil
}

func (c *Hypercore) auditBlocks(ctx context.Context, r *AuditReport) error {
	for i := range c.data.Len() {
		if !c.data.Get(i) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := c.st.Block(ctx, i)
		if err != nil {
			return fmt.Errorf("read block %d: %w", i, missingIsCorrupt(err))
		}
		node, err := c.st.Node(ctx, 2*i)
		if err != nil {
			return fmt.Errorf("read leaf of block %d: %w", i, missingIsCorrupt(err))
		}
		if leaf := LeafNode(i, data); leaf != node {
			return fmt.Errorf("block %d does not match its leaf hash: %w", i, ErrCorrupt)
		}
		r.Blocks++
	}
	return nil
}

func (c *Hypercore) auditNodes(ctx context.Context, r *AuditReport) error {
	for x := range c.tree.Len() {
		if !c.tree.Get(x) {
			continue
		}
		node, err := c.st.Node(ctx, x)
		if err != nil {
			return fmt.Errorf("read tree node %d: %w", x, missingIsCorrupt(err))
		}
		if node.Index != x {
			return fmt.Errorf("tree node %d is stored as %d: %w", x, node.Index, ErrCorrupt)
		}
		r.Nodes++
		left, right, ok := children(x)
		if !ok || !c.tree.Get(left) || !c.tree.Get(right) {
			continue
		}
		kids, err := c.nodes(ctx, []uint64{left, right})
		if err != nil {
			return fmt.Errorf("read children of tree node %d: %w", x, missingIsCorrupt(err))
		}
		if ParentNode(kids[0], kids[1]) != node {
			return fmt.Errorf("tree node %d does not match its children: %w", x, ErrCorrupt)
		}
	}
	return nil
}

// missingIsCorrupt turns "not stored" into corruption: during an audit the
// bitfields say the item is there, so its absence is damage.
func missingIsCorrupt(err error) error {
	if errors.Is(err, ErrNotStored) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}
