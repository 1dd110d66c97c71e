package core

import (
	"context"
	"fmt"
	"sync"
)

// Hypercore is the in-process Core: a signed append-only log over a Storage.
// It is safe for concurrent use. Appends and imports are serialised by a
// writer lock and committed to storage before any reader can see them.
type Hypercore struct {
	kp   KeyPair
	dkey DiscoveryKey
	st   Storage

	writeMu sync.Mutex // serialises Append and Import

	mu      sync.RWMutex // guards the fields below
	header  Header
	roots   []Node // full roots of header.Length
	data    *Bitfield
	tree    *Bitfield
	changed chan struct{} // closed and replaced whenever the core changes
	closed  bool
}

var _ Core = (*Hypercore)(nil)

// Open loads a core from its storage. kp.SecretKey may be nil for a core this
// process only reads and replicates.
func Open(ctx context.Context, st Storage, kp KeyPair) (*Hypercore, error) {
	snap, err := st.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("open core %s: %w", kp.PublicKey, err)
	}
	c := &Hypercore{
		kp: kp, dkey: kp.PublicKey.DiscoveryKey(), st: st,
		header: snap.Header, data: NewBitfield(), tree: NewBitfield(),
		changed: make(chan struct{}),
	}
	for _, pg := range snap.Data {
		c.data.LoadPage(pg)
	}
	for _, pg := range snap.Tree {
		c.tree.LoadPage(pg)
	}
	if err := c.loadRoots(ctx); err != nil {
		return nil, fmt.Errorf("open core %s: %w", kp.PublicKey, err)
	}
	return c, nil
}

// loadRoots reads the roots of the stored length and checks its signature.
func (c *Hypercore) loadRoots(ctx context.Context) error {
	if c.header.Length == 0 {
		return nil
	}
	roots, err := c.nodes(ctx, fullRoots(2*c.header.Length))
	if err != nil {
		return fmt.Errorf("read roots: %w: %w", ErrCorrupt, err)
	}
	sig, err := c.st.Signature(ctx, c.header.Length)
	if err != nil {
		return fmt.Errorf("read signature of length %d: %w: %w", c.header.Length, ErrCorrupt, err)
	}
	if !VerifyRoots(c.kp.PublicKey, roots, c.header.Length, sig) {
		return fmt.Errorf("signature of length %d does not verify: %w", c.header.Length, ErrCorrupt)
	}
	var size uint64
	for _, r := range roots {
		size += r.Size
	}
	if size != c.header.ByteLength {
		return fmt.Errorf("byte length %d, but the signed roots hold %d bytes: %w", c.header.ByteLength, size, ErrCorrupt)
	}
	c.roots = roots
	return nil
}

func (c *Hypercore) nodes(ctx context.Context, indices []uint64) ([]Node, error) {
	out := make([]Node, len(indices))
	for i, x := range indices {
		n, err := c.st.Node(ctx, x)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// Key returns the core's public key.
func (c *Hypercore) Key() Key { return c.kp.PublicKey }

// DiscoveryKey returns the core's discovery key.
func (c *Hypercore) DiscoveryKey() DiscoveryKey { return c.dkey }

// Writable reports whether this process holds the secret key.
func (c *Hypercore) Writable() bool { return c.kp.Writable() }

// Length returns the signed length in blocks.
func (c *Hypercore) Length() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.header.Length
}

// ByteLength returns the number of data bytes in the signed length.
func (c *Hypercore) ByteLength() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.header.ByteLength
}

// Changed returns a channel that is closed at the next change of the core:
// an append, an import or Close. Replicators use it to announce new blocks.
func (c *Hypercore) Changed() <-chan struct{} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.changed
}

// Close closes the core and its storage and wakes every waiting call.
func (c *Hypercore) Close() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.changed)
	c.mu.Unlock()
	if err := c.st.Close(); err != nil {
		return fmt.Errorf("close core %s: %w", c.kp.PublicKey, err)
	}
	return nil
}

// publish installs a committed batch into memory and wakes waiters.
// The caller holds writeMu.
func (c *Hypercore) publish(b *Batch, roots []Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pg := range b.DataPages {
		c.data.LoadPage(pg)
	}
	for _, pg := range b.TreePages {
		c.tree.LoadPage(pg)
	}
	c.header = b.Header
	if roots != nil {
		c.roots = roots
	}
	close(c.changed)
	c.changed = make(chan struct{})
}
