package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// networkServer translates the Network capability to the backend's
// Network, for one session.
type networkServer struct {
	n    Network
	sess *session
}

func (s networkServer) Configure(ctx context.Context, call schema.Network_configure) error {
	call.Go()
	a := call.Args()
	dk, err := discoveryKeyArg(a.DiscoveryKey)
	if err != nil {
		return toWire(fmt.Errorf("configure: %w", err))
	}
	opts := ConfigureOptions{Announce: a.Announce(), Lookup: a.Lookup(), Flush: a.Flush(), Remember: a.Remember()}
	if !s.sess.configured() {
		return toWire(fmt.Errorf("configure: session closed: %w", core.ErrClosed))
	}
	err = s.n.Configure(ctx, SessionID(s.sess.id), dk, opts)
	if s.sess.isClosed() { // it closed meanwhile: what it configured goes too
		s.n.EndSession(context.WithoutCancel(ctx), SessionID(s.sess.id))
	}
	return toWire(err)
}

func (s networkServer) Seed(ctx context.Context, call schema.Network_seed) error {
	call.Go()
	key, err := keyArg(call.Args().Key)
	if err != nil {
		return toWire(fmt.Errorf("seed: %w", err))
	}
	return toWire(s.n.Seed(ctx, key))
}

func (s networkServer) Unseed(ctx context.Context, call schema.Network_unseed) error {
	call.Go()
	key, err := keyArg(call.Args().Key)
	if err != nil {
		return toWire(fmt.Errorf("unseed: %w", err))
	}
	return toWire(s.n.Unseed(ctx, key))
}

func (s networkServer) Status(ctx context.Context, call schema.Network_status) error {
	dk, err := discoveryKeyArg(call.Args().DiscoveryKey)
	if err != nil {
		return toWire(fmt.Errorf("topic status: %w", err))
	}
	ts, err := s.n.TopicStatus(ctx, dk)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetAnnounce(ts.Announce)
	res.SetLookup(ts.Lookup)
	res.SetRounds(ts.Rounds)
	res.SetFound(ts.Found)
	res.SetRemember(ts.Remember)
	return nil
}

func (s networkServer) AllStatuses(ctx context.Context, call schema.Network_allStatuses) error {
	topics, err := s.n.Topics(ctx)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return writeList(res.NewStatuses, topics, writeTopicStatus)
}

func (s networkServer) Peers(ctx context.Context, call schema.Network_peers) error {
	pl, err := s.n.Peers(ctx)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return errors.Join(writeList(res.NewPeers, pl.Peers, writePeer), writeCounts(res.NewDisconnects, pl.Disconnects))
}

func (s networkServer) Connect(ctx context.Context, call schema.Network_connect) error {
	call.Go()
	addr, err := call.Args().Address()
	if err != nil || addr == "" || len(addr) > 512 {
		return toWire(fmt.Errorf("connect: give HOST:PORT: %w", ErrBadRequest))
	}
	p, closeConn, err := s.n.Connect(ctx, addr)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		closeConn()
		return err
	}
	out, err := res.NewPeer()
	if err != nil {
		closeConn()
		return err
	}
	cs := &connectionServer{close: sync.OnceFunc(closeConn)}
	if err := res.SetConnection(schema.Connection_ServerToClient(cs)); err != nil {
		closeConn()
		return err
	}
	return writePeer(out, p)
}

// connectionServer is a client's hold on a connection it asked for: it
// lasts until the client closes or drops it, or its session ends.
type connectionServer struct{ close func() }

func (c *connectionServer) Close(ctx context.Context, call schema.Connection_close) error {
	c.close()
	return nil
}

func (c *connectionServer) Shutdown() { c.close() }

// discoveryKeyArg reads a discovery key argument of a call.
func discoveryKeyArg(get func() ([]byte, error)) (core.DiscoveryKey, error) {
	var r fieldReader
	dk := readKey[core.DiscoveryKey](&r, "discovery key", get)
	return dk, r.done("argument")
}
