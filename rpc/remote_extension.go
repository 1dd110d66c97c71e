package rpc

import (
	"context"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// Extension is a registered extension of a remote core: messages by name
// between peers that replicate the core.
type Extension struct {
	r *RemoteCore
	e schema.Extension
}

// RegisterExtension registers an extension by name; onMessage runs, in
// order, for each message a peer sends with it (peer is its public key).
func (r *RemoteCore) RegisterExtension(ctx context.Context, name string, onMessage func(peer core.Key, data []byte)) (*Extension, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	handler := schema.ExtensionHandler_ServerToClient(extensionHandler{onMessage})
	f, release := r.c.RegisterExtension(ctx, func(p schema.Core_registerExtension_Params) error {
		if err := p.SetHandler(handler); err != nil {
			return err
		}
		return p.SetName(name)
	})
	defer release()
	return await("register extension "+name, r.fail(ctx), f.Struct, release, func(res schema.Core_registerExtension_Results) (*Extension, error) {
		return &Extension{r: r, e: res.Extension().AddRef()}, nil
	})
}

// Send sends data to the peer with public key peer, or to every peer when
// peer is nil, and returns how many peers it went to.
func (x *Extension) Send(ctx context.Context, data []byte, peer *core.Key) (int, error) {
	ctx, cancel := x.r.call(ctx)
	defer cancel()
	f, release := x.e.Send(ctx, func(p schema.Extension_send_Params) error {
		if peer != nil {
			if err := p.SetPeer(peer[:]); err != nil {
				return err
			}
		}
		return p.SetData(data)
	})
	n, err := await("send extension message", x.r.fail(ctx), f.Struct, release, plain(schema.Extension_send_Results.Peers))
	return int(n), err
}

// Close unregisters the extension.
func (x *Extension) Close() { x.e.Release() }

type extensionHandler struct{ fn func(core.Key, []byte) }

func (h extensionHandler) Message(ctx context.Context, call schema.ExtensionHandler_message) error {
	peer, err := keyArg(call.Args().Peer)
	if err != nil {
		return err
	}
	data, _ := call.Args().Data()
	if h.fn != nil {
		h.fn(peer, append([]byte{}, data...))
	}
	return nil
}
