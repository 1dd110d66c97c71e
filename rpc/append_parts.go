package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// An append too large to send, then hash, then commit one after another
// comes in parts (appendPart): each part's call hashes its blocks as soon
// as it arrives, while the next part is still on the wire, then waits; the
// last part commits every block under one signature. A part's blocks stay
// in its call's message, alive while the call waits, so nothing is copied
// before pebble's batch.

// hashedAppender is a LocalCore that takes the leaf hashes of the blocks it
// appends (core.Hypercore.AppendHashed); others hash them again.
type hashedAppender interface {
	AppendHashed(ctx context.Context, blocks [][]byte, hashes [][32]byte) (uint64, error)
}

// partState is where a parted append is: gathering parts, committing
// them, or over (committed or failed).
type partState int

const (
	gathering partState = iota
	committing
	over
)

// partedAppend is one append arriving in parts.
type partedAppend struct {
	mu     sync.Mutex
	state  partState
	blocks [][][]byte   // each part's blocks, in order
	hashes [][][32]byte // each part's leaf hashes, filled by its call
	count  int          // blocks in all parts so far
	bytes  int          // and their bytes
	hashed sync.WaitGroup
	done   chan struct{} // closed when over
	res    lengths
	err    error
	timer  *time.Timer // fails the append if the next part is late
	within time.Duration
	left   func() // gives the session's parted slot back, once
}

func (c *coreServer) AppendPart(ctx context.Context, call schema.Core_appendPart) error {
	return c.long(func() {}, func() error {
		blocks, err := readBlocks(call.Args())
		if err != nil {
			return err
		}
		p, hashes, err := c.addPart(blocks, call.Args().First(), call.Args().Last())
		if err != nil {
			return toWire(err)
		}
		call.Go() // the next part may arrive while this one hashes
		for i, b := range blocks {
			hashes[i] = core.LeafHash(b)
		}
		p.hashed.Done()
		var l lengths
		if call.Args().Last() {
			l, err = c.commitParts(ctx, p)
		} else {
			l, err = p.wait(ctx)
		}
		if err != nil {
			return toWire(err)
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetLength(l.length)
		res.SetByteLength(l.byteLength)
		return nil
	})
}

// addPart files blocks as the next part of the capability's append in
// parts and returns it with the slice the part's hashes go in. A first
// part starts an append (one still gathering was abandoned by its client:
// it fails); any other part needs one gathering, so the parts after a
// failed one are refused and never commit without it. The last part
// detaches the append, so the next first part starts another.
func (c *coreServer) addPart(blocks [][]byte, first, last bool) (*partedAppend, [][32]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, fmt.Errorf("append: %w", core.ErrClosed)
	}
	p := c.parted
	switch {
	case first && p != nil:
		p.fail(fmt.Errorf("append in parts: the next append began before this one's last part: %w", ErrBadRequest))
		c.parted, p = nil, nil
	case !first && p == nil:
		return nil, nil, fmt.Errorf("append in parts: a part with no first part before it, or after one that failed: %w", ErrBadRequest)
	}
	if p == nil {
		var err error
		if p, err = c.startParted(); err != nil {
			return nil, nil, err
		}
		c.parted = p
	}
	if last {
		c.parted = nil
	}
	hashes, err := p.add(blocks)
	if err != nil {
		c.parted = nil
		return nil, nil, err
	}
	return p, hashes, nil
}

// startParted begins an append in parts, within the session's limit; it
// fails by itself after PartWait without a part.
func (c *coreServer) startParted() (*partedAppend, error) {
	lim := c.sess.srv.opts.Limits
	if int(c.sess.parted.Add(1)) > lim.Parted {
		c.sess.parted.Add(-1)
		return nil, fmt.Errorf("more than %d appends in parts in progress on this connection: %w", lim.Parted, ErrLimit)
	}
	p := &partedAppend{done: make(chan struct{}), within: lim.PartWait, left: sync.OnceFunc(func() { c.sess.parted.Add(-1) })}
	p.timer = time.AfterFunc(lim.PartWait, func() {
		p.fail(fmt.Errorf("append in parts: no part for %v: %w", lim.PartWait, ErrBadRequest))
		c.mu.Lock()
		if c.parted == p {
			c.parted = nil
		}
		c.mu.Unlock()
	})
	return p, nil
}

// add files one part, within append's limits over all parts.
func (p *partedAppend) add(blocks [][]byte) ([][32]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != gathering {
		if p.err != nil {
			return nil, p.err
		}
		return nil, fmt.Errorf("append in parts: a part after the last: %w", ErrBadRequest)
	}
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	if p.count+len(blocks) > MaxAppendBlocks || p.bytes+n > MaxAppendBytes {
		err := fmt.Errorf("append in parts of more than %d blocks or %d bytes: %w", MaxAppendBlocks, MaxAppendBytes, ErrTooLarge)
		p.endLocked(lengths{}, err)
		return nil, err
	}
	p.timer.Reset(p.within)
	hashes := make([][32]byte, len(blocks))
	p.blocks, p.hashes = append(p.blocks, blocks), append(p.hashes, hashes)
	p.count, p.bytes = p.count+len(blocks), p.bytes+n
	p.hashed.Add(1)
	return hashes, nil
}

// wait holds a part's call, and so its blocks, until the append is over.
// A part whose call ends first (its client went away) fails the append
// unless it is committing already, when it waits for the commit to end.
func (p *partedAppend) wait(ctx context.Context) (lengths, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.fail(fmt.Errorf("append in parts: a part's call ended: %w", ctx.Err()))
		<-p.done
	}
	return p.res, p.err
}

// commitParts commits every part once all are hashed, as one append.
func (c *coreServer) commitParts(ctx context.Context, p *partedAppend) (lengths, error) {
	p.hashed.Wait()
	p.mu.Lock()
	if p.state != gathering {
		p.mu.Unlock()
		<-p.done
		return p.res, p.err
	}
	p.state = committing
	p.left() // committing, it holds what a plain append would
	p.mu.Unlock()
	blocks := make([][]byte, 0, p.count)
	hashes := make([][32]byte, 0, p.count)
	for i := range p.blocks {
		blocks, hashes = append(blocks, p.blocks[i]...), append(hashes, p.hashes[i]...)
	}
	l, err := c.appendHashed(ctx, blocks, hashes)
	p.mu.Lock()
	p.endLocked(l, err)
	p.mu.Unlock()
	return l, err
}

// appendHashed appends through the core, with the hashes if it takes them.
func (c *coreServer) appendHashed(ctx context.Context, blocks [][]byte, hashes [][32]byte) (lengths, error) {
	cr, err := c.core()
	if err != nil {
		return lengths{}, err
	}
	var n uint64
	if ha, ok := cr.(hashedAppender); ok {
		n, err = ha.AppendHashed(ctx, blocks, hashes)
	} else {
		n, err = cr.Append(ctx, blocks...)
	}
	return lengths{n, cr.ByteLength()}, err
}

// fail ends a gathering append with err; one committing is left to end.
func (p *partedAppend) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == gathering {
		p.endLocked(lengths{}, err)
	}
}

// endLocked records the append's outcome and lets every part's call go.
func (p *partedAppend) endLocked(l lengths, err error) {
	if p.state == over {
		return
	}
	p.state, p.res, p.err = over, l, err
	p.timer.Stop()
	p.left()
	close(p.done)
}
