package daemon

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/hspd/hsp/rpc"
)

// subsystem is one part of the running daemon. Run serves until ctx ends
// (then it returns nil) or it fails; one failing stops the daemon.
type subsystem interface {
	Run(ctx context.Context) error
}

// named is a subsystem with the name its errors and logs go under.
type named struct {
	name string
	subsystem
}

// subsystems is the one place where the daemon wires what runs: the RPC
// server on the unix socket and, if asked, on TCP; the garbage collection
// of loaded cores. The swarm's listener, the DHT node and the replicator
// join this list, each a Run(ctx) error over the resources open made.
func (d *Daemon) subsystems() []named {
	list := []named{
		{"rpc", rpcListener{srv: d.server, l: d.listener}},
		{"gc", d.loaded},
		{"swarm", d.swarm},
	}
	if d.tcp != nil {
		list = append(list, named{"rpc-tcp", rpcListener{srv: d.server, l: d.tcp, tcp: true, token: d.token}})
	}
	return list
}

// runAll runs every subsystem under one errgroup: the first to fail
// cancels the others, and wait returns its error once all have returned.
func runAll(ctx context.Context, list []named) (wait func() error, failed <-chan struct{}) {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range list {
		g.Go(func() error {
			if err := s.Run(gctx); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	return g.Wait, gctx.Done()
}

// rpcListener serves the RPC contract on one listener: the private unix
// socket, or TCP where each client first presents the token.
type rpcListener struct {
	srv   *rpc.Server
	l     net.Listener
	tcp   bool
	token string
}

func (r rpcListener) Run(ctx context.Context) error {
	if r.tcp {
		return r.srv.ServeTCP(ctx, r.l, r.token)
	}
	return r.srv.Serve(ctx, r.l)
}
