package rpc

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/hspd/hsp/rpc/schema"
)

// Extension is a registered extension of a remote core: messages by name
// between peers that replicate the core.
type Extension struct {
	r *RemoteCore
	e schema.Extension
}

// RegisterExtension registers an extension by name; onMessage runs, in
// order, for each message a peer sends with it (peer is its public key,
// hex).
func (r *RemoteCore) RegisterExtension(ctx context.Context, name string, onMessage func(peer string, data []byte)) (*Extension, error) {
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
	if _, err := f.Struct(); err != nil {
		return nil, r.result(ctx, "register extension "+name, err)
	}
	return &Extension{r: r, e: f.Extension().AddRef()}, nil
}

// Send sends data to the peer with public key peer (hex), or to every
// peer when peer is empty, and returns how many peers it went to.
func (x *Extension) Send(ctx context.Context, data []byte, peer string) (int, error) {
	pk, err := hex.DecodeString(peer)
	if err != nil {
		return 0, fmt.Errorf("send extension message: peer key: %w", err)
	}
	ctx, cancel := x.r.call(ctx)
	defer cancel()
	f, release := x.e.Send(ctx, func(p schema.Extension_send_Params) error {
		if err := p.SetPeer(pk); err != nil {
			return err
		}
		return p.SetData(data)
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return 0, x.r.result(ctx, "send extension message", err)
	}
	return int(res.Peers()), nil
}

// Close unregisters the extension.
func (x *Extension) Close() { x.e.Release() }

type extensionHandler struct{ fn func(string, []byte) }

func (h extensionHandler) Message(ctx context.Context, call schema.ExtensionHandler_message) error {
	peer, _ := call.Args().Peer()
	data, _ := call.Args().Data()
	if h.fn != nil {
		h.fn(hex.EncodeToString(peer), append([]byte{}, data...))
	}
	return nil
}
