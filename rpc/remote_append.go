package rpc

import (
	"context"
	"errors"

	capnp "capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/exc"

	"github.com/hspd/hsp/rpc/schema"
)

// PartBytes is the size from which RemoteCore.Append sends an append in
// parts of about this many bytes (whole blocks), pipelined: the daemon
// hashes each part while the next one is on the wire, and commits them
// all at once, as one append. Smaller appends go in one call.
const PartBytes = 1 << 20

// appendParts answers whether blocks go in parts, and where they are cut:
// the index each part ends at.
func appendParts(blocks [][]byte) []int {
	var cuts []int
	acc := 0
	for i, b := range blocks {
		acc += len(b)
		if acc >= PartBytes && i < len(blocks)-1 {
			cuts = append(cuts, i+1)
			acc = 0
		}
	}
	if len(cuts) == 0 {
		return nil
	}
	return append(cuts, len(blocks))
}

// appendInParts sends blocks as pipelined appendPart calls cut at cuts and
// returns the length after the commit; ok is false when the daemon does
// not know appendPart or has as many appends in parts from this connection
// as it takes, and nothing was appended.
func (r *RemoteCore) appendInParts(ctx context.Context, blocks [][]byte, cuts []int) (n uint64, ok bool, err error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	type sent struct {
		f       schema.Core_appendPart_Results_Future
		release capnp.ReleaseFunc
	}
	parts := make([]sent, 0, len(cuts))
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	// The parts of one append must reach the capability back to back: a
	// second append in parts on this core waits until these are sent.
	r.partsMu.Lock()
	start := 0
	for k, end := range cuts {
		f, release := sendPart(ctx, r.c, blocks[start:end], k == 0, k == len(cuts)-1)
		parts = append(parts, sent{f, release})
		start = end
	}
	r.partsMu.Unlock()
	for k, p := range parts {
		res, err := p.f.Struct()
		if err != nil {
			if k == 0 && exc.TypeOf(err) == exc.Unimplemented {
				r.noParts.Store(true)
				return 0, false, nil
			}
			if k == 0 && errors.Is(wireErr(err), ErrLimit) {
				// The connection has as many appends in parts gathering as
				// the daemon takes; nothing of this one is stored.
				return 0, false, nil
			}
			// The first part to fail says why; the parts after it are
			// refused for following a failed one.
			return 0, true, r.result(ctx, "append", err)
		}
		if k == len(parts)-1 {
			r.grow(res.Length(), res.ByteLength())
			n = res.Length()
		}
	}
	return n, true, nil
}

// sendPart sends one appendPart call on c without waiting for its answer.
func sendPart(ctx context.Context, c schema.Core, blocks [][]byte, first, last bool) (schema.Core_appendPart_Results_Future, capnp.ReleaseFunc) {
	return c.AppendPart(ctx, func(p schema.Core_appendPart_Params) error {
		list, err := p.NewBlocks(int32(len(blocks)))
		if err != nil {
			return err
		}
		p.SetFirst(first)
		p.SetLast(last)
		return fillDataList(list, blocks)
	})
}
