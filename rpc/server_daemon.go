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
	return res.SetNetwork(schema.Network_ServerToClient(networkServer{}))
}

// corestoreServer opens, lists and deletes cores for one session.
type corestoreServer struct{ sess *session }

func (c *corestoreServer) Open(ctx context.Context, call schema.Corestore_open) error {
	call.Go()
	req, err := readOpenRequest(call.Args())
	if err != nil {
		return toWire(err)
	}
	h, err := c.sess.srv.backend.Open(ctx, req)
	if err != nil {
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
	return writeCoreInfo(out, infoOf(info, h.Name, true))
}

func readOpenRequest(p schema.Corestore_open_Params) (OpenRequest, error) {
	var req OpenRequest
	set := 0
	if p.HasKey() {
		k, _ := p.Key()
		key, err := keyOf(k)
		if err != nil {
			return req, err
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

func keyOf(b []byte) (core.Key, error) {
	var k core.Key
	if len(b) != len(k) {
		return k, fmt.Errorf("key of %d bytes, want 32: %w", len(b), ErrBadRequest)
	}
	copy(k[:], b)
	return k, nil
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
	list, err := res.NewCores(int32(len(infos)))
	if err != nil {
		return err
	}
	for i, info := range infos {
		if err := writeCoreInfo(list.At(i), info); err != nil {
			return err
		}
	}
	return nil
}

func (c *corestoreServer) Delete(ctx context.Context, call schema.Corestore_delete) error {
	call.Go()
	b, _ := call.Args().Key()
	key, err := keyOf(b)
	if err != nil {
		return toWire(err)
	}
	return toWire(c.sess.srv.backend.Delete(ctx, key))
}

// networkServer answers until networking lands: every call fails with
// ErrNetworkUnavailable.
type networkServer struct{}

func (networkServer) Configure(context.Context, schema.Network_configure) error {
	return toWire(fmt.Errorf("configure: %w", ErrNetworkUnavailable))
}

func (networkServer) Status(context.Context, schema.Network_status) error {
	return toWire(fmt.Errorf("network status: %w", ErrNetworkUnavailable))
}

func (networkServer) AllStatuses(context.Context, schema.Network_allStatuses) error {
	return toWire(fmt.Errorf("network statuses: %w", ErrNetworkUnavailable))
}

func (networkServer) Peers(context.Context, schema.Network_peers) error {
	return toWire(fmt.Errorf("peers: %w", ErrNetworkUnavailable))
}
