package rpc

import (
	"context"

	"github.com/hspd/hsp/core"
)

// Backend is what the RPC server exposes: the daemon implements it. Every
// method may be called concurrently.
type Backend interface {
	// Status describes the daemon; the server fills Clients and Protocol.
	Status(ctx context.Context) (Status, error)
	// Stop begins a clean shutdown and returns at once.
	Stop(ctx context.Context) error
	// Open returns a handle on a core; see OpenRequest.
	Open(ctx context.Context, req OpenRequest) (Handle, error)
	// List describes every stored core.
	List(ctx context.Context) ([]CoreInfo, error)
	// Delete removes a core's data; ErrNotFound if there is none.
	Delete(ctx context.Context, key core.Key) error
}

// OpenRequest names the core to open: by Key, by Name (a writable core
// derived from the daemon's master key, created on first use), or New (a
// fresh random writable core). Exactly one is set. A Key the store does
// not hold is recorded, so it can be replicated, unless Existing is set:
// then it is ErrNotFound.
type OpenRequest struct {
	Key      *core.Key
	Name     string
	New      bool
	Existing bool
}

// LocalCore is a core as the daemon holds it: a core.Core that also tells
// when it changes, so the server can push events.
type LocalCore interface {
	core.Core
	// Changed returns a channel closed at the core's next change.
	Changed() <-chan struct{}
}

// Handle is one client's reference to an open core. The server calls
// Release exactly once, when the client closes the core or disconnects;
// the backend then decides whether to unload the core.
type Handle struct {
	Core    LocalCore
	Name    string
	Release func()
}
