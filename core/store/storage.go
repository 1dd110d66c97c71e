package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// coreStorage is one core's core.Storage inside the store's database: every
// key under c ‖ id. Reads run concurrently; the core commits one batch at a
// time.
type coreStorage struct {
	s      *Store
	id     uint64
	closed atomic.Bool
}

var _ core.Storage = (*coreStorage)(nil)
var _ core.BlockAppender = (*coreStorage)(nil)

// enter admits an access to this core's data.
func (st *coreStorage) enter() error {
	if st.closed.Load() {
		return core.ErrClosed
	}
	if err := st.s.enter(); err != nil {
		return fmt.Errorf("%w: %w", core.ErrClosed, err)
	}
	return nil
}

// Load returns the header and every bitfield page.
func (st *coreStorage) Load(ctx context.Context) (core.Snapshot, error) {
	var snap core.Snapshot
	if err := st.enter(); err != nil {
		return snap, fmt.Errorf("load core %d: %w", st.id, err)
	}
	defer st.s.leave()
	v, err := st.s.get(headerKey(st.id))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return snap, fmt.Errorf("load core %d: read header: %w", st.id, err)
	default:
		if snap.Header, err = decodeHeader(v); err != nil {
			return snap, fmt.Errorf("load core %d: %w", st.id, err)
		}
	}
	if snap.Data, err = st.pages(ctx, kindDataPage); err != nil {
		return snap, fmt.Errorf("load core %d: data bitfield: %w", st.id, err)
	}
	if snap.Tree, err = st.pages(ctx, kindTreePage); err != nil {
		return snap, fmt.Errorf("load core %d: tree bitfield: %w", st.id, err)
	}
	return snap, nil
}

// pages reads every bitfield page of one kind.
func (st *coreStorage) pages(ctx context.Context, kind byte) ([]core.Page, error) {
	lower, upper := kindBounds(st.id, kind)
	it, err := st.s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	var out []core.Page
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, err
		}
		pg, err := decodePage(it.Key(), v)
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, pg)
	}
	return out, errors.Join(it.Error(), it.Close())
}

// read returns a copy of the value of kind at index, or an error wrapping
// core.ErrNotStored.
func (st *coreStorage) read(kind byte, index uint64) ([]byte, error) {
	if err := st.enter(); err != nil {
		return nil, err
	}
	defer st.s.leave()
	var key [coreKeyLen]byte
	coreKey(key[:], st.id, kind, index)
	v, err := st.s.get(key[:])
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, core.ErrNotStored
	}
	return v, err
}

// Block returns the data of block index.
func (st *coreStorage) Block(ctx context.Context, index uint64) ([]byte, error) {
	v, err := st.read(kindBlock, index)
	if err != nil {
		return nil, fmt.Errorf("read block %d: %w", index, err)
	}
	return v, nil
}

// AppendBlock appends the data of block index to dst.
func (st *coreStorage) AppendBlock(ctx context.Context, dst []byte, index uint64) ([]byte, error) {
	if err := st.enter(); err != nil {
		return dst, err
	}
	defer st.s.leave()
	var key [coreKeyLen]byte
	coreKey(key[:], st.id, kindBlock, index)
	out, err := st.s.appendValue(dst, key[:])
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, fmt.Errorf("read block %d: %w", index, core.ErrNotStored)
	}
	if err != nil {
		return dst, fmt.Errorf("read block %d: %w", index, err)
	}
	return out, nil
}

// Node returns the tree node at flat-tree index.
func (st *coreStorage) Node(ctx context.Context, index uint64) (core.Node, error) {
	v, err := st.read(kindNode, index)
	if err != nil {
		return core.Node{}, fmt.Errorf("read tree node %d: %w", index, err)
	}
	return decodeNode(index, v)
}

// Signature returns the signature over the first length blocks.
func (st *coreStorage) Signature(ctx context.Context, length uint64) ([]byte, error) {
	v, err := st.read(kindSignature, length)
	if err != nil {
		return nil, fmt.Errorf("read signature of length %d: %w", length, err)
	}
	if len(v) != core.SignatureSize {
		return nil, fmt.Errorf("signature of length %d has %d bytes: %w", length, len(v), core.ErrCorrupt)
	}
	return v, nil
}

// Commit writes b in one pebble batch. With b.Sync it returns once the
// batch is durable; concurrent commits share WAL fsyncs (group commit).
func (st *coreStorage) Commit(ctx context.Context, b *core.Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := st.s.writable("commit"); err != nil {
		return fmt.Errorf("commit %d blocks: %w", len(b.Blocks), err)
	}
	if err := st.enter(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	defer st.s.leave()
	pb := st.newBatch(b)
	defer pb.Close()
	st.fill(pb, b)
	if err := st.s.space.reserve(len(pb.Repr())); err != nil {
		return fmt.Errorf("commit %d blocks: %w", len(b.Blocks), err)
	}
	if err := st.s.db.Apply(pb, st.s.writeOptions(b.Sync)); err != nil {
		if errors.Is(err, pebble.ErrReadOnly) {
			err = st.s.readOnlyError("commit", err)
		}
		return fmt.Errorf("commit %d blocks: %w", len(b.Blocks), err)
	}
	return nil
}

// batchRecord bounds what a pebble batch adds to a record's key and value:
// its kind and two varint lengths.
const batchRecord = 1 + 2*binary.MaxVarintLen32

// batchSize is about the size of b's pebble batch (a page's encoding
// counted at most its raw size), so that filling it does not grow it
// through copies: a batch of 128 blocks of 64 KiB otherwise doubles its
// buffer from 1 MiB up to 16 MiB, copying each time.
func batchSize(b *core.Batch) int {
	n := 12 + coreKeyLen + headerValueSize + batchRecord // batch header, the core's header
	for _, blk := range b.Blocks {
		n += batchRecord + coreKeyLen + len(blk.Data)
	}
	n += len(b.Nodes) * (batchRecord + coreKeyLen + nodeValueSize)
	for _, sig := range b.Signatures {
		n += batchRecord + coreKeyLen + len(sig.Signature)
	}
	return n + (len(b.DataPages)+len(b.TreePages))*(batchRecord+coreKeyLen+core.PageBytes)
}

// presizeFrom is the batch size from which Commit sizes its pebble batch
// up front: pebble keeps batch buffers of up to 1 MiB for reuse, so a
// smaller batch (an append of a few blocks) keeps pebble's reused buffer,
// while a larger one (an import batch) would otherwise start small and
// grow.
const presizeFrom = 1 << 20

// newBatch is the pebble batch b is filled into, sized up front from
// presizeFrom on.
func (st *coreStorage) newBatch(b *core.Batch) *pebble.Batch {
	if n := batchSize(b); n > presizeFrom {
		return st.s.db.NewBatchWithSize(n)
	}
	return st.s.db.NewBatch()
}

// fill encodes b into pb without intermediate copies.
func (st *coreStorage) fill(pb *pebble.Batch, b *core.Batch) {
	for _, blk := range b.Blocks {
		op := pb.SetDeferred(coreKeyLen, len(blk.Data))
		coreKey(op.Key, st.id, kindBlock, blk.Index)
		copy(op.Value, blk.Data)
		op.Finish()
	}
	for _, n := range b.Nodes {
		op := pb.SetDeferred(coreKeyLen, nodeValueSize)
		coreKey(op.Key, st.id, kindNode, n.Index)
		putNode(op.Value, n)
		op.Finish()
	}
	for _, sig := range b.Signatures {
		op := pb.SetDeferred(coreKeyLen, len(sig.Signature))
		coreKey(op.Key, st.id, kindSignature, sig.Length)
		copy(op.Value, sig.Signature)
		op.Finish()
	}
	st.fillPages(pb, kindDataPage, b.DataPages)
	st.fillPages(pb, kindTreePage, b.TreePages)
	pb.Set(headerKey(st.id), encodeHeader(b.Header), nil)
}

func (st *coreStorage) fillPages(pb *pebble.Batch, kind byte, pages []core.Page) {
	for i := range pages {
		enc := encodePage(&pages[i])
		op := pb.SetDeferred(coreKeyLen, len(enc))
		coreKey(op.Key, st.id, kind, pages[i].Index)
		copy(op.Value, enc)
		op.Finish()
	}
}

// Sync makes every commit of the store so far durable, including this
// core's commits made without Batch.Sync.
func (st *coreStorage) Sync(ctx context.Context) error { return st.s.Sync(ctx) }

// Close marks the storage closed; the database stays open for the store.
func (st *coreStorage) Close() error {
	st.closed.Store(true)
	return nil
}

// writeOptions returns pebble's options for a batch that asked for sync
// or not, honouring Options.UnsafeSyncInterval.
func (s *Store) writeOptions(sync bool) *pebble.WriteOptions {
	if s.relax != nil {
		s.relax.dirty.Store(true)
		return pebble.NoSync
	}
	if !sync {
		return pebble.NoSync
	}
	return pebble.Sync
}
