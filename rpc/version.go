package rpc

// Version is the hsp release, set at link time with
// -ldflags "-X github.com/hspd/hsp/rpc.Version=v1.2.3". The daemon reports
// it in Status and a client warns when the daemon's differs from its own.
var Version = "v0.0.0-dev"

// Protocol numbers the RPC contract. A client and a daemon whose protocols
// differ cannot talk: the client fails with ErrIncompatible.
const Protocol uint32 = 1

// Size limits of the RPC connection. A block is at most core.MaxBlockSize
// (8 MiB); one append call carries at most MaxAppendBlocks blocks and
// MaxAppendBytes bytes of them, checked by the client before sending and by
// the server again. A Cap'n Proto message may be larger than its blocks by
// their framing: a list pointer and up to 7 bytes of padding a block, and a
// few hundred bytes of call, so the largest append always fits.
const (
	MaxAppendBlocks = 65536
	MaxAppendBytes  = 64 << 20
	MaxMessageSize  = MaxAppendBytes + 16*MaxAppendBlocks + 64<<10
)
