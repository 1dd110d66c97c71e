package core

import (
	"context"
	"errors"
	"fmt"
)

// Get returns block index. A block not stored here is waited for (it may
// arrive from a peer) until ctx ends, opts.Timeout passes or the core
// closes; with opts.NoWait it is ErrNotAvailable at once.
func (c *Hypercore) Get(ctx context.Context, index uint64, opts GetOptions) ([]byte, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	for {
		c.mu.RLock()
		closed, has, changed := c.closed, c.data.Get(index), c.changed
		c.mu.RUnlock()
		switch {
		case closed:
			return nil, fmt.Errorf("get block %d: %w", index, ErrClosed)
		case has:
			if opts.BeforeRead != nil {
				if err := opts.BeforeRead(ctx); err != nil {
					return nil, fmt.Errorf("get block %d: %w", index, err)
				}
			}
			data, err := c.st.Block(ctx, index)
			if err != nil {
				return nil, fmt.Errorf("get block %d: %w", index, err)
			}
			return data, nil
		case opts.NoWait:
			return nil, fmt.Errorf("get block %d: %w", index, ErrNotAvailable)
		}
		if err := wait(ctx, changed); err != nil {
			return nil, fmt.Errorf("get block %d: %w", index, err)
		}
	}
}

// AppendBlock appends stored block index to dst, without waiting: a block
// not stored here is ErrNotAvailable. Unlike Get it allocates nothing when
// dst has room, if the storage is a BlockAppender.
func (c *Hypercore) AppendBlock(ctx context.Context, dst []byte, index uint64) ([]byte, error) {
	c.mu.RLock()
	closed, has := c.closed, c.data.Get(index)
	c.mu.RUnlock()
	switch {
	case closed:
		return dst, fmt.Errorf("read block %d: %w", index, ErrClosed)
	case !has:
		return dst, fmt.Errorf("read block %d: %w", index, ErrNotAvailable)
	}
	if ba, ok := c.st.(BlockAppender); ok {
		out, err := ba.AppendBlock(ctx, dst, index)
		if err != nil {
			return dst, fmt.Errorf("read block %d: %w", index, err)
		}
		return out, nil
	}
	data, err := c.st.Block(ctx, index)
	if err != nil {
		return dst, fmt.Errorf("read block %d: %w", index, err)
	}
	return append(dst, data...), nil
}

// wait blocks until changed is closed or ctx ends.
func wait(ctx context.Context, changed <-chan struct{}) error {
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Update waits until the core's signed length reaches minLength.
func (c *Hypercore) Update(ctx context.Context, minLength uint64) (uint64, error) {
	for {
		c.mu.RLock()
		closed, length, changed := c.closed, c.header.Length, c.changed
		c.mu.RUnlock()
		if closed {
			return length, fmt.Errorf("update to length %d: %w", minLength, ErrClosed)
		}
		if length >= minLength {
			return length, nil
		}
		if err := wait(ctx, changed); err != nil {
			return length, fmt.Errorf("update to length %d: %w", minLength, err)
		}
	}
}

// Has reports whether block index is stored here.
func (c *Hypercore) Has(ctx context.Context, index uint64) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false, fmt.Errorf("has block %d: %w", index, ErrClosed)
	}
	return c.data.Get(index), nil
}

// Downloaded counts the blocks stored here in [start, end).
func (c *Hypercore) Downloaded(ctx context.Context, start, end uint64) (uint64, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, fmt.Errorf("count downloaded blocks: %w", ErrClosed)
	}
	if end < start {
		return 0, fmt.Errorf("count downloaded blocks in [%d, %d): %w", start, end, ErrOutOfRange)
	}
	return c.data.Count(start, end), nil
}

// Seek returns the block that holds byte byteOffset of the core's data and
// the offset of that byte within the block. It walks down the Merkle tree by
// node sizes, so it needs the tree nodes on the way (ErrNotAvailable if a
// sparse core lacks them).
func (c *Hypercore) Seek(ctx context.Context, byteOffset uint64) (uint64, uint64, error) {
	c.mu.RLock()
	roots, byteLength, closed := c.roots, c.header.ByteLength, c.closed
	c.mu.RUnlock()
	if closed {
		return 0, 0, fmt.Errorf("seek to byte %d: %w", byteOffset, ErrClosed)
	}
	if byteOffset >= byteLength {
		return 0, 0, fmt.Errorf("seek to byte %d of %d: %w", byteOffset, byteLength, ErrOutOfRange)
	}
	var node Node
	for _, node = range roots {
		if byteOffset < node.Size {
			break
		}
		byteOffset -= node.Size
	}
	for node.Index&1 == 1 {
		l, r, _ := children(node.Index)
		left, err := c.seekNode(ctx, l)
		if err != nil {
			return 0, 0, err
		}
		if byteOffset < left.Size {
			node = left
			continue
		}
		byteOffset -= left.Size
		if node, err = c.seekNode(ctx, r); err != nil {
			return 0, 0, err
		}
	}
	return node.Index / 2, byteOffset, nil
}

func (c *Hypercore) seekNode(ctx context.Context, index uint64) (Node, error) {
	n, err := c.st.Node(ctx, index)
	if errors.Is(err, ErrNotStored) {
		return n, fmt.Errorf("seek: tree node %d: %w", index, ErrNotAvailable)
	}
	if err != nil {
		return n, fmt.Errorf("seek: read tree node %d: %w", index, err)
	}
	return n, nil
}

// Signature returns the first stored signature covering block index: the
// one for the smallest signed length above index.
func (c *Hypercore) Signature(ctx context.Context, index uint64) (SignatureAt, error) {
	length := c.Length()
	if index >= length {
		return SignatureAt{}, fmt.Errorf("signature of block %d of %d: %w", index, length, ErrOutOfRange)
	}
	for l := index + 1; l <= length; l++ {
		sig, err := c.st.Signature(ctx, l)
		if err == nil {
			return SignatureAt{Length: l, Signature: sig}, nil
		}
		if !errors.Is(err, ErrNotStored) {
			return SignatureAt{}, fmt.Errorf("signature of block %d: %w", index, err)
		}
	}
	return SignatureAt{}, fmt.Errorf("signature of block %d: %w", index, ErrNotAvailable)
}

// RootHashes returns the roots of the tree of the first index+1 blocks.
func (c *Hypercore) RootHashes(ctx context.Context, index uint64) ([]Node, error) {
	length := c.Length()
	if index >= length {
		return nil, fmt.Errorf("root hashes at block %d of %d: %w", index, length, ErrOutOfRange)
	}
	roots, err := c.nodes(ctx, fullRoots(2*index+2))
	if errors.Is(err, ErrNotStored) {
		return nil, fmt.Errorf("root hashes at block %d: %w", index, ErrNotAvailable)
	}
	if err != nil {
		return nil, fmt.Errorf("root hashes at block %d: %w", index, err)
	}
	return roots, nil
}

// Info summarises the core.
func (c *Hypercore) Info(ctx context.Context) (Info, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return Info{}, fmt.Errorf("info: %w", ErrClosed)
	}
	return Info{
		Key: c.kp.PublicKey, DiscoveryKey: c.dkey, Writable: c.kp.Writable(),
		Length: c.header.Length, ByteLength: c.header.ByteLength,
		Downloaded: c.data.Count(0, c.data.Len()),
	}, nil
}
