package rpc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3/flowcontrol"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// RemoteCore is a core held by the daemon, used through the socket. It
// implements core.Core, so it replaces a local core unchanged. Length and
// ByteLength are cached and kept current by the daemon's append events.
type RemoteCore struct {
	c        schema.Core
	key      core.Key
	dkey     core.DiscoveryKey
	writable bool
	name     string

	closing context.Context // cancelled by Close, ending every call in flight
	close   context.CancelFunc

	mu         sync.Mutex
	length     uint64
	byteLength uint64
	events     []func(Event)
	sub        schema.Subscription

	ahead readAhead
}

var _ core.Core = (*RemoteCore)(nil)

// coreWindow bounds the bytes of calls in flight on one remote core, so a
// fast writer cannot queue unbounded memory in either process.
const coreWindow = 2 * MaxMessageSize

func newRemoteCore(ctx context.Context, c schema.Core, info CoreInfo) (*RemoteCore, error) {
	c.SetFlowLimiter(flowcontrol.NewFixedLimiter(coreWindow))
	r := &RemoteCore{c: c, writable: info.Writable, name: info.Name, length: info.Length, byteLength: info.ByteLength}
	k, err := core.ParseKey(info.Key)
	if err != nil {
		c.Release()
		return nil, fmt.Errorf("open core: daemon sent %w", err)
	}
	r.key, r.dkey = k, k.DiscoveryKey()
	r.closing, r.close = context.WithCancel(context.Background())
	if err := r.subscribe(ctx); err != nil {
		c.Release()
		return nil, err
	}
	return r, nil
}

// subscribe registers the event sink that keeps the cached length current.
func (r *RemoteCore) subscribe(ctx context.Context) error {
	sink := schema.EventSink_ServerToClient(&eventSink{r: r})
	f, release := r.c.Subscribe(ctx, func(p schema.Core_subscribe_Params) error {
		return p.SetSink(sink)
	})
	defer release()
	if _, err := f.Struct(); err != nil {
		return fmt.Errorf("subscribe to core events: %w", wireErr(err))
	}
	r.sub = f.Subscription().AddRef()
	return nil
}

// OnEvent registers fn to run, in order, for each event of the core.
func (r *RemoteCore) OnEvent(fn func(Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fn)
}

func (r *RemoteCore) deliver(ev Event) {
	r.mu.Lock()
	if ev.Type == "append" && ev.Length > r.length {
		r.length, r.byteLength = ev.Length, ev.ByteLength
	}
	fns := append([]func(Event){}, r.events...)
	r.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// grow records a length learned from a call's answer.
func (r *RemoteCore) grow(length, byteLength uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if length > r.length {
		r.length, r.byteLength = length, byteLength
	}
}

// Key returns the core's public key.
func (r *RemoteCore) Key() core.Key { return r.key }

// DiscoveryKey returns the core's discovery key.
func (r *RemoteCore) DiscoveryKey() core.DiscoveryKey { return r.dkey }

// Writable reports whether the daemon can append to the core.
func (r *RemoteCore) Writable() bool { return r.writable }

// Name is the name of a named core, else empty.
func (r *RemoteCore) Name() string { return r.name }

// Length returns the last known length.
func (r *RemoteCore) Length() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.length
}

// ByteLength returns the last known byte length.
func (r *RemoteCore) ByteLength() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byteLength
}

// call derives a call's context: it ends with ctx or when the core closes.
func (r *RemoteCore) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(r.closing, func() { cancel(core.ErrClosed) })
	return ctx, func() { stop(); cancel(nil) }
}

// result maps a call's error, preferring the reason its context ended.
func (r *RemoteCore) result(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if r.closing.Err() != nil {
		return fmt.Errorf("%s: %w", what, core.ErrClosed)
	}
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, core.ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, cause)
		}
	}
	return fmt.Errorf("%s: %w", what, wireErr(err))
}

// Append appends blocks under one signature. Blocks over core.MaxBlockSize
// and batches over MaxAppendBytes are refused before anything is sent.
func (r *RemoteCore) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	total := 0
	for i, b := range blocks {
		if len(b) > core.MaxBlockSize {
			return 0, fmt.Errorf("append block %d of %d bytes: %w", i, len(b), core.ErrBlockTooLarge)
		}
		total += len(b)
	}
	if total > MaxAppendBytes {
		return 0, fmt.Errorf("append %d bytes in one call, more than %d: %w", total, MaxAppendBytes, ErrTooLarge)
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Append(ctx, func(p schema.Core_append_Params) error {
		list, err := p.NewBlocks(int32(len(blocks)))
		if err != nil {
			return err
		}
		return fillDataList(list, blocks)
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return 0, r.result(ctx, "append", err)
	}
	r.grow(res.Length(), res.ByteLength())
	return res.Length(), nil
}

// Get returns block index; see core.Core. Gets that walk forward block by
// block are served by read-ahead (readahead.go).
func (r *RemoteCore) Get(ctx context.Context, index uint64, opts core.GetOptions) ([]byte, error) {
	if r.closing.Err() != nil {
		return nil, fmt.Errorf("get block %d: %w", index, core.ErrClosed)
	}
	b, held, sequential := r.ahead.lookup(index)
	if held {
		return append([]byte{}, b...), nil
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	if length := r.Length(); sequential && opts == (core.GetOptions{}) && index+1 < length {
		return r.fetchAhead(ctx, index, min(index+readAheadBlocks, length))
	}
	f, release := r.c.Get(ctx, func(p schema.Core_get_Params) error {
		p.SetIndex(index)
		p.SetNoWait(opts.NoWait)
		p.SetTimeoutMs(uint64(opts.Timeout / time.Millisecond))
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, r.result(ctx, fmt.Sprintf("get block %d", index), err)
	}
	block, err := res.Block()
	if err != nil {
		return nil, fmt.Errorf("get block %d: %w", index, err)
	}
	return append([]byte{}, block...), nil
}

// Update waits until the core's length reaches minLength.
func (r *RemoteCore) Update(ctx context.Context, minLength uint64) (uint64, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Update(ctx, func(p schema.Core_update_Params) error {
		p.SetMinLength(minLength)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return r.Length(), r.result(ctx, fmt.Sprintf("update to length %d", minLength), err)
	}
	return res.Length(), nil
}

// Has reports whether the daemon stores block index.
func (r *RemoteCore) Has(ctx context.Context, index uint64) (bool, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Has(ctx, func(p schema.Core_has_Params) error {
		p.SetIndex(index)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return false, r.result(ctx, fmt.Sprintf("has block %d", index), err)
	}
	return res.Has(), nil
}

// Downloaded counts the blocks the daemon stores in [start, end).
func (r *RemoteCore) Downloaded(ctx context.Context, start, end uint64) (uint64, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Downloaded(ctx, func(p schema.Core_downloaded_Params) error {
		p.SetStart(start)
		p.SetEnd(end)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return 0, r.result(ctx, "count downloaded blocks", err)
	}
	return res.Count(), nil
}

// Seek finds the block holding byteOffset.
func (r *RemoteCore) Seek(ctx context.Context, byteOffset uint64) (uint64, uint64, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Seek(ctx, func(p schema.Core_seek_Params) error {
		p.SetByteOffset(byteOffset)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return 0, 0, r.result(ctx, fmt.Sprintf("seek to byte %d", byteOffset), err)
	}
	return res.Index(), res.Offset(), nil
}

// Signature returns the first signature covering block index.
func (r *RemoteCore) Signature(ctx context.Context, index uint64) (core.SignatureAt, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Signature(ctx, func(p schema.Core_signature_Params) error {
		p.SetIndex(index)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return core.SignatureAt{}, r.result(ctx, fmt.Sprintf("signature of block %d", index), err)
	}
	sig, err := res.Signature()
	if err != nil {
		return core.SignatureAt{}, fmt.Errorf("signature of block %d: %w", index, err)
	}
	return core.SignatureAt{Length: res.Length(), Signature: append([]byte{}, sig...)}, nil
}

// RootHashes returns the roots of the first index+1 blocks.
func (r *RemoteCore) RootHashes(ctx context.Context, index uint64) ([]core.Node, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.RootHashes(ctx, func(p schema.Core_rootHashes_Params) error {
		p.SetIndex(index)
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, r.result(ctx, fmt.Sprintf("root hashes at block %d", index), err)
	}
	list, err := res.Roots()
	if err != nil {
		return nil, fmt.Errorf("root hashes at block %d: %w", index, err)
	}
	out := make([]core.Node, list.Len())
	for i := range out {
		n := list.At(i)
		h, _ := n.Hash()
		out[i] = core.Node{Index: n.Index(), Size: n.Size()}
		copy(out[i].Hash[:], h)
	}
	return out, nil
}

// Info describes the core as the daemon sees it now.
func (r *RemoteCore) Info(ctx context.Context) (core.Info, error) {
	ci, err := r.CoreInfo(ctx)
	if err != nil {
		return core.Info{}, err
	}
	return core.Info{
		Key: r.key, DiscoveryKey: r.dkey, Length: ci.Length, ByteLength: ci.ByteLength,
		Writable: ci.Writable, Downloaded: ci.Downloaded,
	}, nil
}

// CoreInfo is Info in the RPC's own form, with the core's name.
func (r *RemoteCore) CoreInfo(ctx context.Context) (CoreInfo, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Info(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		return CoreInfo{}, r.result(ctx, "core info", err)
	}
	info, err := res.Info()
	if err != nil {
		return CoreInfo{}, fmt.Errorf("core info: %w", err)
	}
	ci := readCoreInfo(info)
	r.grow(ci.Length, ci.ByteLength)
	return ci, nil
}

// Audit has the daemon re-verify the core.
func (r *RemoteCore) Audit(ctx context.Context) (core.AuditReport, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Audit(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		return core.AuditReport{}, r.result(ctx, "audit", err)
	}
	return core.AuditReport{Blocks: res.Blocks(), Nodes: res.Nodes(), Signature: res.Signature()}, nil
}

// Close releases the core in the daemon and ends calls in flight with
// core.ErrClosed.
func (r *RemoteCore) Close() error {
	if r.closing.Err() != nil {
		return nil
	}
	r.close()
	f, release := r.c.Close(context.Background(), nil)
	_, err := f.Struct()
	release()
	r.sub.Release()
	r.c.Release()
	if err != nil && !errors.Is(wireErr(err), ErrDaemonUnreachable) {
		return fmt.Errorf("close core %s: %w", r.key, wireErr(err))
	}
	return nil
}

// eventSink receives the daemon's events for one RemoteCore.
type eventSink struct{ r *RemoteCore }

func (s *eventSink) Events(ctx context.Context, call schema.EventSink_events) error {
	list, err := call.Args().Events()
	if err != nil {
		return err
	}
	for i := range list.Len() {
		if ev, ok := readEvent(list.At(i)); ok {
			s.r.deliver(ev)
		}
	}
	return nil
}

func readEvent(e schema.Event) (Event, bool) {
	switch e.Which() {
	case schema.Event_Which_append:
		return Event{Type: "append", Length: e.Append().Length(), ByteLength: e.Append().ByteLength()}, true
	case schema.Event_Which_download:
		return Event{Type: "download", Index: e.Download().Index(), Bytes: e.Download().Bytes()}, true
	case schema.Event_Which_upload:
		return Event{Type: "upload", Index: e.Upload().UploadIndex(), Bytes: e.Upload().UploadBytes()}, true
	case schema.Event_Which_peerAdd:
		p, _ := e.PeerAdd()
		return Event{Type: "peer-add", Peer: readPeer(p)}, true
	case schema.Event_Which_peerRemove:
		p, _ := e.PeerRemove()
		return Event{Type: "peer-remove", Peer: readPeer(p)}, true
	}
	return Event{}, false
}

func readPeer(p schema.Peer) *Peer {
	pk, _ := p.RemotePublicKey()
	addr, _ := p.RemoteAddress()
	typ, _ := p.Type()
	return &Peer{RemotePublicKey: hex.EncodeToString(pk), RemoteAddress: addr, Type: typ}
}
