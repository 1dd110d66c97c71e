package core

import (
	"context"
	"errors"
)

// ErrNotStored is returned by Storage when a block, node or signature is absent.
var ErrNotStored = errors.New("not stored")

// Storage is what a Hypercore needs from the place that keeps one core's data.
// Implementations must make Commit atomic: after a crash either all of a
// batch is visible or none of it.
type Storage interface {
	// Load returns what was committed for this core: its header and every
	// bitfield page. A core never committed to has a zero Header (Length 0)
	// and no pages.
	Load(ctx context.Context) (Snapshot, error)
	// Block returns the data of block index, or an error wrapping ErrNotStored.
	Block(ctx context.Context, index uint64) ([]byte, error)
	// Node returns the tree node at a flat-tree index, or ErrNotStored.
	Node(ctx context.Context, index uint64) (Node, error)
	// Signature returns the signature over the core's first length blocks,
	// or ErrNotStored.
	Signature(ctx context.Context, length uint64) ([]byte, error)
	// Commit writes a batch atomically. When b.Sync is set it returns only
	// once the batch is durable.
	Commit(ctx context.Context, b *Batch) error
	// Close releases the storage. The core closes its storage when it closes.
	Close() error
}

// BlockAppender is implemented by storage that can read a block into a
// buffer the caller brings, sparing an allocation per read: a replicator
// serving a peer encodes the block and reuses the buffer.
type BlockAppender interface {
	// AppendBlock appends the data of block index to dst, or fails with
	// an error wrapping ErrNotStored.
	AppendBlock(ctx context.Context, dst []byte, index uint64) ([]byte, error)
}

// Header is a core's small, frequently rewritten state.
type Header struct {
	// Length is the number of blocks the newest stored signature covers.
	Length uint64
	// ByteLength is the number of data bytes in those blocks.
	ByteLength uint64
}

// Snapshot is what Load returns.
type Snapshot struct {
	Header Header
	// Data holds pages of the block bitfield; Tree of the tree-node bitfield.
	Data, Tree []Page
}

// Batch is one atomic change to a core's storage.
type Batch struct {
	Header     Header
	Blocks     []Block
	Nodes      []Node
	Signatures []SignatureAt
	// DataPages and TreePages are the bitfield pages that changed.
	DataPages, TreePages []Page
	// Sync asks Commit to return only once the batch is durable. Appends by
	// the writer always set it: a signed block lost in a crash and signed
	// again differently forks the core for every peer that saw the first.
	Sync bool
}

// Block is one block's data at its index.
type Block struct {
	Index uint64
	Data  []byte
}

// SignatureAt is the signature over a core's first Length blocks.
type SignatureAt struct {
	Length    uint64
	Signature []byte
}
