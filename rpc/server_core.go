package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// coreServer is one client's open core. It releases its handle once: on the
// client's close, when the client drops the capability, or at disconnect.
type coreServer struct {
	sess *session
	h    Handle

	mu     sync.Mutex
	closed bool
}

func newCoreServer(sess *session, h Handle) *coreServer {
	return &coreServer{sess: sess, h: h}
}

// core returns the open core, or ErrClosed after release.
func (c *coreServer) core() (LocalCore, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, toWire(fmt.Errorf("core was closed by this client: %w", core.ErrClosed))
	}
	return c.h.Core, nil
}

func (c *coreServer) release() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.sess.untrack(c)
	c.h.Release()
}

// Shutdown is called when the client drops its last reference.
func (c *coreServer) Shutdown() { c.release() }

func (c *coreServer) Close(ctx context.Context, call schema.Core_close) error {
	c.release()
	return nil
}

func (c *coreServer) Append(ctx context.Context, call schema.Core_append) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	cr, err := c.core()
	if err != nil {
		return err
	}
	list, err := call.Args().Blocks()
	if err != nil {
		return toWire(fmt.Errorf("append: read blocks: %w", ErrBadRequest))
	}
	blocks := make([][]byte, list.Len())
	for i := range blocks {
		if blocks[i], err = list.At(i); err != nil {
			return toWire(fmt.Errorf("append: read block %d: %w", i, ErrBadRequest))
		}
	}
	length, err := cr.Append(ctx, blocks...)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetLength(length)
	res.SetByteLength(cr.ByteLength())
	return nil
}

func (c *coreServer) Get(ctx context.Context, call schema.Core_get) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	cr, err := c.core()
	if err != nil {
		return err
	}
	a := call.Args()
	opts := core.GetOptions{NoWait: a.NoWait(), Timeout: time.Duration(a.TimeoutMs()) * time.Millisecond}
	block, err := cr.Get(ctx, a.Index(), opts)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	if block == nil {
		block = []byte{}
	}
	return res.SetBlock(block)
}

func (c *coreServer) Update(ctx context.Context, call schema.Core_update) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	cr, err := c.core()
	if err != nil {
		return err
	}
	length, err := cr.Update(ctx, call.Args().MinLength())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetLength(length)
	return nil
}

func (c *coreServer) Seek(ctx context.Context, call schema.Core_seek) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	cr, err := c.core()
	if err != nil {
		return err
	}
	index, offset, err := cr.Seek(ctx, call.Args().ByteOffset())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetIndex(index)
	res.SetOffset(offset)
	return nil
}

func (c *coreServer) Has(ctx context.Context, call schema.Core_has) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	has, err := cr.Has(ctx, call.Args().Index())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetHas(has)
	return nil
}

func (c *coreServer) Downloaded(ctx context.Context, call schema.Core_downloaded) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	n, err := cr.Downloaded(ctx, call.Args().Start(), call.Args().End())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetCount(n)
	return nil
}

func (c *coreServer) Info(ctx context.Context, call schema.Core_info) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	info, err := cr.Info(ctx)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	out, err := res.NewInfo()
	if err != nil {
		return err
	}
	return writeCoreInfo(out, infoOf(info, c.h.Name, true))
}

func (c *coreServer) Signature(ctx context.Context, call schema.Core_signature) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	sig, err := cr.Signature(ctx, call.Args().Index())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetLength(sig.Length)
	return res.SetSignature(sig.Signature)
}

func (c *coreServer) RootHashes(ctx context.Context, call schema.Core_rootHashes) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	roots, err := cr.RootHashes(ctx, call.Args().Index())
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	list, err := res.NewRoots(int32(len(roots)))
	if err != nil {
		return err
	}
	for i, r := range roots {
		n := list.At(i)
		n.SetIndex(r.Index)
		n.SetSize(r.Size)
		if err := n.SetHash(r.Hash[:]); err != nil {
			return err
		}
	}
	return nil
}

func (c *coreServer) Audit(ctx context.Context, call schema.Core_audit) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	cr, err := c.core()
	if err != nil {
		return err
	}
	r, err := cr.Audit(ctx)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetBlocks(r.Blocks)
	res.SetNodes(r.Nodes)
	res.SetSignature(r.Signature)
	return nil
}
