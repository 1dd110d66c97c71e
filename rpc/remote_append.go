package rpc

import (
	"context"

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
// not know appendPart, and nothing was appended.
func (r *RemoteCore) appendInParts(ctx context.Context, blocks [][]byte, cuts []int) (n uint64, ok bool, err error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	type sent struct {
		f       schema.Core_appendPart_Results_Future
		release func()
	}
	parts := make([]sent, 0, len(cuts))
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	start := 0
	for k, end := range cuts {
		part, last := blocks[start:end], k == len(cuts)-1
		f, release := r.c.AppendPart(ctx, func(p schema.Core_appendPart_Params) error {
			list, err := p.NewBlocks(int32(len(part)))
			if err != nil {
				return err
			}
			p.SetLast(last)
			return fillDataList(list, part)
		})
		parts = append(parts, sent{f, release})
		start = end
	}
	for k, p := range parts {
		res, err := p.f.Struct()
		if err != nil {
			if k == 0 && exc.TypeOf(err) == exc.Unimplemented {
				r.noParts.Store(true)
				return 0, false, nil
			}
			// Every part answers the append's error; the last one's says
			// what went wrong rather than that an earlier part gave up.
			if _, lerr := parts[len(parts)-1].f.Struct(); lerr != nil {
				err = lerr
			}
			return 0, true, r.result(ctx, "append", err)
		}
		if k == len(parts)-1 {
			r.grow(res.Length(), res.ByteLength())
			n = res.Length()
		}
	}
	return n, true, nil
}
