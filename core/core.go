package core

import (
	"context"
	"errors"
	"time"
)

// MaxBlockSize is the largest block a core accepts. The wire protocol caps a
// frame at 8 MiB, so a larger block could never be replicated.
const MaxBlockSize = 8 << 20

// Errors shared by every Core implementation. Test with errors.Is.
var (
	// ErrNotWritable: the core has no secret key here.
	ErrNotWritable = errors.New("core is not writable")
	// ErrNotAvailable: the block is not stored here and the caller asked
	// not to wait for it.
	ErrNotAvailable = errors.New("block not downloaded")
	// ErrBlockTooLarge: a block exceeds MaxBlockSize.
	ErrBlockTooLarge = errors.New("block larger than 8 MiB")
	// ErrOutOfRange: an index or byte offset lies at or beyond the end.
	ErrOutOfRange = errors.New("out of range")
	// ErrClosed: the core was closed.
	ErrClosed = errors.New("core is closed")
	// ErrCorrupt: stored data failed verification.
	ErrCorrupt = errors.New("core data is corrupt")
	// ErrVerify: data received from a peer failed verification; nothing
	// of it was stored.
	ErrVerify = errors.New("proof does not verify")
)

// Core is a hypercore as a program uses it. The in-process *Hypercore and
// the remote core of package rpc both implement it, and one conformance
// suite (package core/coretest) checks both.
type Core interface {
	// Key is the core's public key; DiscoveryKey its swarm topic.
	Key() Key
	DiscoveryKey() DiscoveryKey
	// Writable reports whether blocks can be appended here.
	Writable() bool
	// Length and ByteLength are the known signed length in blocks and bytes.
	Length() uint64
	ByteLength() uint64

	// Append adds blocks at the end under one signature, atomically: all
	// of them or none. It returns the new length.
	Append(ctx context.Context, blocks ...[]byte) (uint64, error)
	// Get returns block index, waiting for it to arrive unless
	// opts.NoWait is set (then a missing block is ErrNotAvailable).
	Get(ctx context.Context, index uint64, opts GetOptions) ([]byte, error)
	// Update waits until the core's length is at least minLength.
	Update(ctx context.Context, minLength uint64) (uint64, error)
	// Has reports whether block index is stored here.
	Has(ctx context.Context, index uint64) (bool, error)
	// Downloaded counts the blocks stored here in [start, end).
	Downloaded(ctx context.Context, start, end uint64) (uint64, error)
	// Seek finds the block holding byteOffset and the offset within it.
	Seek(ctx context.Context, byteOffset uint64) (index, offset uint64, err error)
	// Signature returns the first stored signature that covers block index.
	Signature(ctx context.Context, index uint64) (SignatureAt, error)
	// RootHashes returns the tree roots of the core's first index+1 blocks.
	RootHashes(ctx context.Context, index uint64) ([]Node, error)
	// Info summarises the core.
	Info(ctx context.Context) (Info, error)
	// Audit re-verifies everything stored against the signed tree.
	Audit(ctx context.Context) (AuditReport, error)
	// Close releases the core; calls after it fail with ErrClosed.
	Close() error
}

// GetOptions tunes Get.
type GetOptions struct {
	// NoWait returns ErrNotAvailable at once when the block is missing.
	NoWait bool
	// Timeout, when positive, bounds the wait.
	Timeout time.Duration
	// BeforeRead, when set, is called once the block is stored, right
	// before a local core reads it into memory; its error ends the Get. A
	// server bounds how many blocks it holds with it. Remote cores do not
	// call it.
	BeforeRead func(context.Context) error
}

// Info is a core's summary.
type Info struct {
	Key          Key
	DiscoveryKey DiscoveryKey
	Length       uint64
	ByteLength   uint64
	Writable     bool
	// Downloaded is the number of blocks stored here.
	Downloaded uint64
}

// AuditReport is what Audit checked.
type AuditReport struct {
	// Blocks and Nodes counted the stored blocks and tree nodes verified.
	Blocks, Nodes uint64
	// Signature is true when the newest signature verified against the roots.
	Signature bool
}
