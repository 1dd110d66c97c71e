package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	capnp "capnproto.org/go/capnp/v3"

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
	parted *partedAppend // the append whose parts are arriving, if any
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

// answer serves one call on the open core: do computes the result from the
// core, then fill writes it into the answer alloc makes. Core errors go out
// with their wire codes.
func answer[R, T any](c *coreServer, alloc func() (R, error), do func(LocalCore) (T, error), fill func(R, T) error) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	v, err := do(cr)
	if err != nil {
		return toWire(err)
	}
	res, err := alloc()
	if err != nil {
		return err
	}
	return fill(res, v)
}

// long counts a call that may take a while against the session's limit and
// lets the capability serve other calls meanwhile (goAhead is call.Go).
func (c *coreServer) long(goAhead func(), serve func() error) error {
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	goAhead()
	return serve()
}

type lengths struct{ length, byteLength uint64 }

func (c *coreServer) Append(ctx context.Context, call schema.Core_append) error {
	return c.long(call.Go, func() error {
		return answer(c, call.AllocResults, func(cr LocalCore) (lengths, error) {
			blocks, err := readBlocks(call.Args())
			if err != nil {
				return lengths{}, err
			}
			n, err := cr.Append(ctx, blocks...)
			return lengths{n, cr.ByteLength()}, err
		}, func(res schema.Core_append_Results, l lengths) error {
			res.SetLength(l.length)
			res.SetByteLength(l.byteLength)
			return nil
		})
	})
}

// blockParams are the params of append and appendPart.
type blockParams interface {
	Blocks() (capnp.DataList, error)
}

func readBlocks(p blockParams) ([][]byte, error) {
	list, err := p.Blocks()
	if err != nil {
		return nil, fmt.Errorf("append: read blocks: %w", ErrBadRequest)
	}
	if list.Len() > MaxAppendBlocks {
		return nil, fmt.Errorf("append %d blocks in one call, more than %d: %w", list.Len(), MaxAppendBlocks, ErrTooLarge)
	}
	blocks := make([][]byte, list.Len())
	total := 0
	for i := range blocks {
		if blocks[i], err = list.At(i); err != nil {
			return nil, fmt.Errorf("append: read block %d: %w", i, ErrBadRequest)
		}
		if total += len(blocks[i]); total > MaxAppendBytes && len(blocks[i]) <= MaxBlockSize {
			return nil, fmt.Errorf("append more than %d bytes in one call: %w", MaxAppendBytes, ErrTooLarge)
		}
	}
	return blocks, nil
}

func (c *coreServer) Get(ctx context.Context, call schema.Core_get) error {
	return c.long(call.Go, func() error {
		a := call.Args()
		opts := core.GetOptions{NoWait: a.NoWait(), Timeout: time.Duration(a.TimeoutMs()) * time.Millisecond}
		before, releaseRead := c.sess.readSlot()
		defer releaseRead()
		opts.BeforeRead = before
		var room *sendReservation
		defer func() { room.cancel() }()
		return answer(c, call.AllocResults, func(cr LocalCore) ([]byte, error) {
			block, err := cr.Get(ctx, a.Index(), opts)
			if err != nil {
				return nil, err
			}
			room, err = c.sess.reserveSend(ctx, len(block))
			releaseRead() // the block's bytes are under the bound now, or the get is over
			if err != nil {
				return nil, fmt.Errorf("get: wait for the client to read: %w", err)
			}
			return block, nil
		}, func(res schema.Core_get_Results, block []byte) error {
			if block == nil {
				block = []byte{}
			}
			room.charge(res.Segment().Message(), len(block))
			return res.SetBlock(block)
		})
	})
}

func (c *coreServer) Update(ctx context.Context, call schema.Core_update) error {
	return c.long(call.Go, func() error {
		return answer(c, call.AllocResults, func(cr LocalCore) (lengths, error) {
			if _, err := cr.Update(ctx, call.Args().MinLength()); err != nil {
				return lengths{}, err
			}
			return lengthsOf(cr), nil
		}, func(res schema.Core_update_Results, l lengths) error {
			res.SetLength(l.length)
			res.SetByteLength(l.byteLength)
			return nil
		})
	})
}

// lengthsOf reads a length and the byte length that goes with it: a core
// may grow between the two reads, so they are read until they agree.
func lengthsOf(cr LocalCore) lengths {
	for {
		n, bl := cr.Length(), cr.ByteLength()
		if cr.Length() == n {
			return lengths{n, bl}
		}
	}
}

func (c *coreServer) Seek(ctx context.Context, call schema.Core_seek) error {
	return c.long(call.Go, func() error {
		return answer(c, call.AllocResults, func(cr LocalCore) ([2]uint64, error) {
			index, offset, err := cr.Seek(ctx, call.Args().ByteOffset())
			return [2]uint64{index, offset}, err
		}, func(res schema.Core_seek_Results, v [2]uint64) error {
			res.SetIndex(v[0])
			res.SetOffset(v[1])
			return nil
		})
	})
}

func (c *coreServer) Has(ctx context.Context, call schema.Core_has) error {
	return answer(c, call.AllocResults, func(cr LocalCore) (bool, error) {
		return cr.Has(ctx, call.Args().Index())
	}, func(res schema.Core_has_Results, has bool) error {
		res.SetHas(has)
		return nil
	})
}

func (c *coreServer) Downloaded(ctx context.Context, call schema.Core_downloaded) error {
	return answer(c, call.AllocResults, func(cr LocalCore) (uint64, error) {
		return cr.Downloaded(ctx, call.Args().Start(), call.Args().End())
	}, func(res schema.Core_downloaded_Results, n uint64) error {
		res.SetCount(n)
		return nil
	})
}

func (c *coreServer) Info(ctx context.Context, call schema.Core_info) error {
	return answer(c, call.AllocResults, func(cr LocalCore) (core.Info, error) {
		return cr.Info(ctx)
	}, func(res schema.Core_info_Results, info core.Info) error {
		out, err := res.NewInfo()
		if err != nil {
			return err
		}
		return writeCoreInfo(out, infoOf(info, c.h.Name, c.h.Core))
	})
}

func (c *coreServer) Signature(ctx context.Context, call schema.Core_signature) error {
	return answer(c, call.AllocResults, func(cr LocalCore) (core.SignatureAt, error) {
		return cr.Signature(ctx, call.Args().Index())
	}, func(res schema.Core_signature_Results, sig core.SignatureAt) error {
		res.SetLength(sig.Length)
		return res.SetSignature(sig.Signature)
	})
}

func (c *coreServer) RootHashes(ctx context.Context, call schema.Core_rootHashes) error {
	return answer(c, call.AllocResults, func(cr LocalCore) ([]core.Node, error) {
		return cr.RootHashes(ctx, call.Args().Index())
	}, func(res schema.Core_rootHashes_Results, roots []core.Node) error {
		return writeList(res.NewRoots, roots, writeNode)
	})
}

func (c *coreServer) Audit(ctx context.Context, call schema.Core_audit) error {
	return c.long(call.Go, func() error {
		return answer(c, call.AllocResults, func(cr LocalCore) (core.AuditReport, error) {
			return cr.Audit(ctx)
		}, func(res schema.Core_audit_Results, r core.AuditReport) error {
			res.SetBlocks(r.Blocks)
			res.SetNodes(r.Nodes)
			res.SetSignature(r.Signature)
			return nil
		})
	})
}
