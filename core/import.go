package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unsafe"
)

// Data is a block as a peer sends it, with its proof. Value nil means absent
// (the reply to a hash request, carrying no data); an empty block is a
// non-nil empty slice.
type Data struct {
	Index     uint64
	Value     []byte
	Nodes     []Node
	Signature []byte

	leaf leafMemo // set by HashLeaf
}

// leafMemo is a leaf node hashed ahead of verification, with the value it
// was hashed from (its first byte's address and its length).
type leafMemo struct {
	node Node
	at   *byte
	n    int
}

// HashLeaf hashes the block's leaf node now, so that Import and
// ImportBatch need not: a receiver can hash a block as it arrives, while
// the previous batch is being committed. The hash counts only for the
// Index and Value it was computed with (a Data whose Index or Value was
// replaced since is hashed again when verified); the bytes of Value must
// not change after. A Data without a value has nothing to hash.
func (d *Data) HashLeaf() {
	if d.Value == nil {
		return
	}
	d.leaf = leafMemo{node: LeafNode(d.Index, d.Value), at: unsafe.SliceData(d.Value), n: len(d.Value)}
}

// leafNode is the block's leaf node, hashed now unless HashLeaf hashed it
// from the same Index and Value.
func (d *Data) leafNode() Node {
	if m := d.leaf; m.at != nil && m.n == len(d.Value) && m.at == unsafe.SliceData(d.Value) && m.node.Index == 2*d.Index {
		return m.node
	}
	return LeafNode(d.Index, d.Value)
}

// Import verifies a block received from a peer against the tree and the
// writer's signature and stores it with the nodes that proved it. A proof
// that reaches new roots teaches the core a longer length. Anything that
// fails to verify is refused with an error wrapping ErrVerify and stores
// nothing.
func (c *Hypercore) Import(ctx context.Context, d Data) error {
	if err := checkData(d); err != nil {
		return fmt.Errorf("import block %d: %w", d.Index, err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosed() {
		return fmt.Errorf("import block %d: %w", d.Index, ErrClosed)
	}
	if c.holds(d) {
		return nil
	}
	v, err := c.verify(ctx, committedView{c}, d)
	if err != nil {
		return fmt.Errorf("import block %d: %w", d.Index, err)
	}
	b := c.importBatch(d, v)
	if err := c.st.Commit(ctx, b); err != nil {
		return fmt.Errorf("import block %d: %w", d.Index, err)
	}
	c.publish(b, v.roots)
	return nil
}

func checkData(d Data) error {
	if d.Index >= maxTreeIndex/2 {
		return fmt.Errorf("index too large: %w", ErrVerify)
	}
	if len(d.Value) > MaxBlockSize {
		return fmt.Errorf("block of %d bytes: %w", len(d.Value), ErrBlockTooLarge)
	}
	if d.Signature != nil && len(d.Signature) != SignatureSize {
		return fmt.Errorf("signature of %d bytes: %w", len(d.Signature), ErrVerify)
	}
	for _, n := range d.Nodes {
		if n.Index >= maxTreeIndex {
			return fmt.Errorf("tree node index %d too large: %w", n.Index, ErrVerify)
		}
	}
	return nil
}

// holds reports whether the core already has what d would add.
func (c *Hypercore) holds(d Data) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if d.Value != nil {
		return c.data.Get(d.Index)
	}
	return c.tree.Get(2 * d.Index)
}

// verified is the outcome of verifying a Data message.
type verified struct {
	nodes     []Node       // new tree nodes to store
	signature *SignatureAt // when the proof reached the roots
	roots     []Node       // the new roots, when the length grows
	header    Header
}

// verify checks d as hypercore 9 does: hash up from the block, using proof
// nodes and stored nodes, until a stored (trusted) node is reached, or else
// until the roots, whose signature must then verify.
func (c *Hypercore) verify(ctx context.Context, tv treeView, d Data) (verified, error) {
	remote := slices.Clone(d.Nodes)
	var top Node
	if d.Value != nil {
		top = d.leafNode()
	} else {
		if len(remote) == 0 || remote[0].Index != 2*d.Index {
			return verified{}, fmt.Errorf("hash reply without its leaf node: %w", ErrVerify)
		}
		top, remote = remote[0], remote[1:]
	}
	trusted, local, err := trustedPath(ctx, tv, 2*d.Index, remote)
	if err != nil {
		return verified{}, err
	}
	v := verified{header: tv.header()}
	for {
		if trusted != nil && trusted.Index == top.Index && trusted.Hash == top.Hash {
			return v, nil
		}
		var sib Node
		switch want := sibling(top.Index); {
		case len(remote) > 0 && remote[0].Index == want:
			sib, remote = remote[0], remote[1:]
			v.nodes = append(v.nodes, sib)
		case len(local) > 0 && local[0].Index == want:
			sib, local = local[0], local[1:]
		default:
			return c.verifyRoots(ctx, tv, d, top, remote, v)
		}
		v.nodes = append(v.nodes, top)
		top = ParentNode(top, sib)
	}
}

// trustedPath walks up from leaf x to find the first stored node (trusted)
// and the stored siblings the proof leaves out (local), in path order.
func trustedPath(ctx context.Context, tv treeView, x uint64, remote []Node) (*Node, []Node, error) {
	var localIdx []uint64
	trustedIdx, found := uint64(0), false
	n := x
	for n < maxTreeIndex {
		if tv.hasNode(n) {
			trustedIdx, found = n, true
			break
		}
		sib := sibling(n)
		n = parent(n)
		if len(remote) > 0 && remote[0].Index == sib {
			remote = remote[1:]
			continue
		}
		if !tv.hasNode(sib) {
			break
		}
		localIdx = append(localIdx, sib)
	}
	if !found && tv.hasNode(n) {
		trustedIdx, found = n, true
	}
	local := make([]Node, len(localIdx))
	for i, x := range localIdx {
		var err error
		if local[i], err = tv.node(ctx, x); err != nil {
			return nil, nil, fmt.Errorf("read local proof nodes: %w", err)
		}
	}
	if !found {
		return nil, local, nil
	}
	t, err := tv.node(ctx, trustedIdx)
	if err != nil {
		return nil, nil, fmt.Errorf("read trusted node %d: %w", trustedIdx, err)
	}
	return &t, local, nil
}

// verifyRoots checks the signature over the roots that top and the rest of
// the proof reach.
func (c *Hypercore) verifyRoots(ctx context.Context, tv treeView, d Data, top Node, remote []Node, v verified) (verified, error) {
	last := top.Index
	if len(remote) > 0 {
		last = remote[len(remote)-1].Index
	}
	verifiedBy := max(rightSpan(top.Index), rightSpan(last)) + 2
	length := verifiedBy / 2
	roots, fromProof, err := rootsToVerify(ctx, tv, verifiedBy, top, remote)
	if err != nil {
		return v, err
	}
	if d.Signature == nil {
		return v, fmt.Errorf("proof reaches the roots of length %d without a signature: %w", length, ErrVerify)
	}
	if !VerifyRoots(c.kp.PublicKey, roots, length, d.Signature) {
		return v, fmt.Errorf("signature for length %d does not verify: %w", length, ErrVerify)
	}
	v.nodes = append(v.nodes, fromProof...)
	v.signature = &SignatureAt{Length: length, Signature: d.Signature}
	if length > v.header.Length {
		v.header.Length = length
		v.header.ByteLength = 0
		for _, r := range roots {
			v.header.ByteLength += r.Size
		}
		v.roots = roots
	}
	return v, nil
}

var errMissingRoots = errors.New("missing tree roots needed to verify")

// rootsToVerify gathers the full roots of verifiedBy from top, the proof (in
// order) and storage. fromProof are those that came from top or the proof.
func rootsToVerify(ctx context.Context, tv treeView, verifiedBy uint64, top Node, remote []Node) ([]Node, []Node, error) {
	indices := fullRoots(verifiedBy)
	if !slices.Contains(indices, top.Index) {
		// the block's path ends below the roots: the proof does not connect
		// it to them, whatever the signature over them says
		return nil, nil, fmt.Errorf("tree node %d is not a root of length %d: %w", top.Index, verifiedBy/2, ErrVerify)
	}
	roots := make([]Node, len(indices))
	var fromProof []Node
	for i, x := range indices {
		switch {
		case x == top.Index:
			roots[i] = top
			fromProof = append(fromProof, top)
		case len(remote) > 0 && remote[0].Index == x:
			roots[i] = remote[0]
			fromProof = append(fromProof, remote[0])
			remote = remote[1:]
		default:
			n, err := tv.node(ctx, x)
			if errors.Is(err, ErrNotStored) {
				return nil, nil, fmt.Errorf("root %d: %w: %w", x, errMissingRoots, ErrVerify)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("read root %d: %w", x, err)
			}
			roots[i] = n
		}
	}
	return roots, fromProof, nil
}

// importBatch turns a verified Data message into a storage batch.
func (c *Hypercore) importBatch(d Data, v verified) *Batch {
	data, tree := newPageEdit(c.data), newPageEdit(c.tree)
	b := &Batch{Header: v.header, Nodes: v.nodes, Sync: true}
	for _, n := range v.nodes {
		tree.set(n.Index)
	}
	tree.set(2 * d.Index)
	if d.Value != nil {
		b.Blocks = []Block{{Index: d.Index, Data: d.Value}}
		data.set(d.Index)
	}
	if v.signature != nil {
		b.Signatures = []SignatureAt{*v.signature}
	}
	b.DataPages, b.TreePages = data.list(), tree.list()
	return b
}
