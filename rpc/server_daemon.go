package rpc

import (
	"context"
	"fmt"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// daemonServer is the bootstrap capability of one session.
type daemonServer struct{ sess *session }

func (d *daemonServer) Hello(ctx context.Context, call schema.Daemon_hello) error {
	if p := call.Args().Protocol(); p != Protocol {
		return toWire(fmt.Errorf("client protocol %d, daemon protocol %d: %w", p, Protocol, ErrIncompatible))
	}
	d.sess.greet()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetProtocol(Protocol)
	return res.SetVersion(Version)
}

// needHello refuses calls made before the version handshake.
func (d *daemonServer) needHello() error {
	if !d.sess.greeted() {
		return toWire(fmt.Errorf("call hello first: %w", ErrBadRequest))
	}
	return nil
}

func (d *daemonServer) Status(ctx context.Context, call schema.Daemon_status) error {
	if err := d.needHello(); err != nil {
		return err
	}
	st, err := d.sess.srv.backend.Status(ctx)
	if err != nil {
		return toWire(fmt.Errorf("status: %w", err))
	}
	st.Protocol = Protocol
	st.Clients = uint32(d.sess.srv.Clients())
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	out, err := res.NewStatus()
	if err != nil {
		return err
	}
	return writeStatus(out, st)
}

func (d *daemonServer) Stop(ctx context.Context, call schema.Daemon_stop) error {
	if err := d.needHello(); err != nil {
		return err
	}
	return toWire(d.sess.srv.backend.Stop(ctx))
}

func (d *daemonServer) Corestore(ctx context.Context, call schema.Daemon_corestore) error {
	if err := d.needHello(); err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetCorestore(schema.Corestore_ServerToClient(&corestoreServer{sess: d.sess}))
}

func (d *daemonServer) Network(ctx context.Context, call schema.Daemon_network) error {
	if err := d.needHello(); err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetNetwork(schema.Network_ServerToClient(networkServer{n: d.sess.srv.backend.Network(), sess: d.sess}))
}

// corestoreServer opens, lists and deletes cores for one session.
type corestoreServer struct{ sess *session }

func (c *corestoreServer) Open(ctx context.Context, call schema.Corestore_open) error {
	call.Go()
	req, err := readOpenRequest(call.Args())
	if err != nil {
		return toWire(err)
	}
	if err := c.sess.reserve(); err != nil {
		return toWire(fmt.Errorf("open core: %w", err))
	}
	h, err := c.sess.srv.backend.Open(ctx, req)
	if err != nil {
		c.sess.unreserve()
		return toWire(err)
	}
	cs := newCoreServer(c.sess, h)
	if err := c.sess.track(cs); err != nil {
		h.Release()
		return toWire(fmt.Errorf("open core: %w", err))
	}
	info, err := h.Core.Info(ctx)
	if err != nil {
		cs.release()
		return toWire(fmt.Errorf("open core: %w", err))
	}
	res, err := call.AllocResults()
	if err != nil {
		cs.release()
		return err
	}
	if err := res.SetCore(schema.Core_ServerToClient(cs)); err != nil {
		return err
	}
	out, err := res.NewInfo()
	if err != nil {
		return err
	}
	return writeCoreInfo(out, infoOf(info, h.Name, h.Core))
}

func readOpenRequest(p schema.Corestore_open_Params) (OpenRequest, error) {
	var req OpenRequest
	set := 0
	if p.HasKey() {
		key, err := keyArg(p.Key)
		if err != nil {
			return req, fmt.Errorf("open core: %w", err)
		}
		req.Key = &key
		set++
	}
	if name, _ := p.Name(); name != "" {
		req.Name = name
		set++
	}
	if p.New() {
		req.New = true
		set++
	}
	req.Existing = p.Existing()
	if set != 1 {
		return req, fmt.Errorf("open core: give exactly one of key, name and new: %w", ErrBadRequest)
	}
	return req, nil
}

// keyArg reads a core key argument of a call.
func keyArg(get func() ([]byte, error)) (core.Key, error) {
	var r fieldReader
	k := readKey[core.Key](&r, "key", get)
	return k, r.done("argument")
}

func (c *corestoreServer) List(ctx context.Context, call schema.Corestore_list) error {
	call.Go()
	infos, err := c.sess.srv.backend.List(ctx)
	if err != nil {
		return toWire(fmt.Errorf("list cores: %w", err))
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return writeList(res.NewCores, infos, writeCoreInfo)
}

func (c *corestoreServer) Delete(ctx context.Context, call schema.Corestore_delete) error {
	call.Go()
	key, err := keyArg(call.Args().Key)
	if err != nil {
		return toWire(fmt.Errorf("delete core: %w", err))
	}
	return toWire(c.sess.srv.backend.Delete(ctx, key))
}
