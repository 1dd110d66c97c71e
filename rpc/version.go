package rpc

// Version is the hsp release, set at link time with
// -ldflags "-X github.com/hspd/hsp/rpc.Version=v1.2.3". The daemon reports
// it in Status and a client warns when the daemon's differs from its own.
var Version = "v0.0.0-dev"

// Protocol numbers the RPC contract. A client and a daemon whose protocols
// differ cannot talk: the client fails with ErrIncompatible.
const Protocol uint32 = 1

// Size limits of the RPC connection. A block is at most core.MaxBlockSize
// (8 MiB); one append call carries at most MaxAppendBytes, and a Cap'n Proto
// message may be a little larger than that to hold the framing.
const (
	MaxAppendBytes = 64 << 20
	MaxMessageSize = MaxAppendBytes + 1<<20
)
