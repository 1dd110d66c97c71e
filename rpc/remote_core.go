package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"capnproto.org/go/capnp/v3/flowcontrol"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// RemoteCore is a core held by the daemon, used through the socket. It
// implements core.Core, so it replaces a local core unchanged. Length and
// ByteLength are cached: they start from the open's answer, grow with each
// call's answer, and, from the first call of Length, ByteLength or OnEvent
// on, are kept current by the daemon's events.
type RemoteCore struct {
	c    schema.Core
	info CoreInfo // as the open answered

	closing context.Context // cancelled by Close, ending every call in flight
	close   context.CancelFunc

	subscribeOnce sync.Once
	sub           schema.Subscription

	mu         sync.Mutex
	length     uint64
	byteLength uint64
	events     []func(Event)

	ahead readAhead

	// noParts: the daemon answered appendPart as unimplemented (an older
	// daemon), so appends go in one call. partsMu keeps the parts of
	// concurrent appends from interleaving.
	noParts atomic.Bool
	partsMu sync.Mutex
}

var _ core.Core = (*RemoteCore)(nil)

// coreWindow bounds the bytes of calls in flight on one remote core, so a
// fast writer cannot queue unbounded memory in either process.
const coreWindow = 2 * MaxMessageSize

func newRemoteCore(c schema.Core, info CoreInfo) *RemoteCore {
	c.SetFlowLimiter(flowcontrol.NewFixedLimiter(coreWindow))
	r := &RemoteCore{c: c, info: info, length: info.Length, byteLength: info.ByteLength}
	r.closing, r.close = context.WithCancel(context.Background())
	return r
}

// follow subscribes to the core's events once, on first need. The call is
// pipelined: nothing waits for its answer, and calls made after it reach
// the daemon after it.
func (r *RemoteCore) follow() {
	r.subscribeOnce.Do(func() {
		sink := schema.EventSink_ServerToClient(&eventSink{r: r})
		f, release := r.c.Subscribe(r.closing, func(p schema.Core_subscribe_Params) error {
			return p.SetSink(sink)
		})
		r.sub = f.Subscription().AddRef()
		release()
	})
}

// OpenInfo is the core's CoreInfo when it was opened.
func (r *RemoteCore) OpenInfo() CoreInfo { return r.info }

// OnEvent registers fn to run, in order, for each event of the core.
func (r *RemoteCore) OnEvent(fn func(Event)) {
	r.mu.Lock()
	r.events = append(r.events, fn)
	r.mu.Unlock()
	r.follow()
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
func (r *RemoteCore) Key() core.Key { return r.info.Key }

// DiscoveryKey returns the core's discovery key.
func (r *RemoteCore) DiscoveryKey() core.DiscoveryKey { return r.info.DiscoveryKey }

// Writable reports whether the daemon can append to the core.
func (r *RemoteCore) Writable() bool { return r.info.Writable }

// Name is the name of a named core, else empty.
func (r *RemoteCore) Name() string { return r.info.Name }

// Length returns the last known length, and keeps it current from now on.
func (r *RemoteCore) Length() uint64 {
	r.follow()
	n, _ := r.Known()
	return n
}

// ByteLength returns the last known byte length, and keeps it current from
// now on.
func (r *RemoteCore) ByteLength() uint64 {
	r.follow()
	_, n := r.Known()
	return n
}

// Known returns the length and byte length this client last learned (at
// opening, from its own calls, from events), without subscribing to events.
func (r *RemoteCore) Known() (length, byteLength uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.length, r.byteLength
}

// fail returns the error mapper of calls made with ctx.
func (r *RemoteCore) fail(ctx context.Context) errMapper {
	return func(what string, err error) error { return r.result(ctx, what, err) }
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

// Append appends blocks under one signature. Blocks over core.MaxBlockSize,
// and batches over MaxAppendBlocks or MaxAppendBytes, are refused before
// anything is sent.
func (r *RemoteCore) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	if err := checkAppend(blocks); err != nil {
		return 0, err
	}
	if cuts := appendParts(blocks); cuts != nil && !r.noParts.Load() {
		if n, ok, err := r.appendInParts(ctx, blocks, cuts); ok {
			return n, err
		}
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
	return await("append", r.fail(ctx), f.Struct, release, func(res schema.Core_append_Results) (uint64, error) {
		r.grow(res.Length(), res.ByteLength())
		return res.Length(), nil
	})
}

// checkAppend applies the limits of one append call, as the server will.
func checkAppend(blocks [][]byte) error {
	if len(blocks) > MaxAppendBlocks {
		return fmt.Errorf("append %d blocks in one call, more than %d: %w", len(blocks), MaxAppendBlocks, ErrTooLarge)
	}
	total := 0
	for i, b := range blocks {
		if len(b) > core.MaxBlockSize {
			return fmt.Errorf("append block %d of %d bytes: %w", i, len(b), core.ErrBlockTooLarge)
		}
		total += len(b)
	}
	if total > MaxAppendBytes {
		return fmt.Errorf("append %d bytes in one call, more than %d: %w", total, MaxAppendBytes, ErrTooLarge)
	}
	return nil
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
	if length, _ := r.Known(); sequential && !opts.NoWait && opts.Timeout == 0 && index+1 < length {
		return r.fetchAhead(ctx, index, min(index+readAheadBlocks, length))
	}
	f, release := r.c.Get(ctx, func(p schema.Core_get_Params) error {
		p.SetIndex(index)
		p.SetNoWait(opts.NoWait)
		p.SetTimeoutMs(uint64(opts.Timeout / time.Millisecond))
		return nil
	})
	return await(fmt.Sprintf("get block %d", index), r.fail(ctx), f.Struct, release, func(res schema.Core_get_Results) ([]byte, error) {
		block, err := res.Block()
		return append([]byte{}, block...), err
	})
}

// Update waits until the core's length reaches minLength.
func (r *RemoteCore) Update(ctx context.Context, minLength uint64) (uint64, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Update(ctx, func(p schema.Core_update_Params) error {
		p.SetMinLength(minLength)
		return nil
	})
	n, err := await(fmt.Sprintf("update to length %d", minLength), r.fail(ctx), f.Struct, release, func(res schema.Core_update_Results) (uint64, error) {
		r.grow(res.Length(), res.ByteLength())
		return res.Length(), nil
	})
	if err != nil {
		n, _ = r.Known()
	}
	return n, err
}

// Has reports whether the daemon stores block index.
func (r *RemoteCore) Has(ctx context.Context, index uint64) (bool, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Has(ctx, func(p schema.Core_has_Params) error {
		p.SetIndex(index)
		return nil
	})
	return await(fmt.Sprintf("has block %d", index), r.fail(ctx), f.Struct, release, plain(schema.Core_has_Results.Has))
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
	return await("count downloaded blocks", r.fail(ctx), f.Struct, release, plain(schema.Core_downloaded_Results.Count))
}

// Seek finds the block holding byteOffset.
func (r *RemoteCore) Seek(ctx context.Context, byteOffset uint64) (uint64, uint64, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Seek(ctx, func(p schema.Core_seek_Params) error {
		p.SetByteOffset(byteOffset)
		return nil
	})
	v, err := await(fmt.Sprintf("seek to byte %d", byteOffset), r.fail(ctx), f.Struct, release, func(res schema.Core_seek_Results) ([2]uint64, error) {
		return [2]uint64{res.Index(), res.Offset()}, nil
	})
	return v[0], v[1], err
}

// Signature returns the first signature covering block index.
func (r *RemoteCore) Signature(ctx context.Context, index uint64) (core.SignatureAt, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Signature(ctx, func(p schema.Core_signature_Params) error {
		p.SetIndex(index)
		return nil
	})
	return await(fmt.Sprintf("signature of block %d", index), r.fail(ctx), f.Struct, release, func(res schema.Core_signature_Results) (core.SignatureAt, error) {
		sig, err := res.Signature()
		return core.SignatureAt{Length: res.Length(), Signature: append([]byte{}, sig...)}, err
	})
}

// RootHashes returns the roots of the first index+1 blocks.
func (r *RemoteCore) RootHashes(ctx context.Context, index uint64) ([]core.Node, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.RootHashes(ctx, func(p schema.Core_rootHashes_Params) error {
		p.SetIndex(index)
		return nil
	})
	return await(fmt.Sprintf("root hashes at block %d", index), r.fail(ctx), f.Struct, release, func(res schema.Core_rootHashes_Results) ([]core.Node, error) {
		return list(res.Roots, readNode)
	})
}

// Info describes the core as the daemon sees it now.
func (r *RemoteCore) Info(ctx context.Context) (core.Info, error) {
	ci, err := r.CoreInfo(ctx)
	if err != nil {
		return core.Info{}, err
	}
	return core.Info{
		Key: ci.Key, DiscoveryKey: ci.DiscoveryKey, Length: ci.Length, ByteLength: ci.ByteLength,
		Writable: ci.Writable, Downloaded: ci.Downloaded,
	}, nil
}

// CoreInfo is Info in the RPC's own form, with the core's name. OpenInfo
// has it as it was at opening, without a round trip.
func (r *RemoteCore) CoreInfo(ctx context.Context) (CoreInfo, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Info(ctx, nil)
	ci, err := await("core info", r.fail(ctx), f.Struct, release, func(res schema.Core_info_Results) (CoreInfo, error) {
		return field(res.Info, readCoreInfo)
	})
	if err == nil {
		r.grow(ci.Length, ci.ByteLength)
	}
	return ci, err
}

// Audit has the daemon re-verify the core.
func (r *RemoteCore) Audit(ctx context.Context) (core.AuditReport, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Audit(ctx, nil)
	return await("audit", r.fail(ctx), f.Struct, release, func(res schema.Core_audit_Results) (core.AuditReport, error) {
		return core.AuditReport{Blocks: res.Blocks(), Nodes: res.Nodes(), Signature: res.Signature()}, nil
	})
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
	r.subscribeOnce.Do(func() {}) // no subscription after Close
	r.sub.Release()
	r.c.Release()
	if err != nil && !errors.Is(wireErr(err), ErrDaemonUnreachable) {
		return fmt.Errorf("close core %s: %w", r.info.Key, wireErr(err))
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
		return peerEvent("peer-add", e.PeerAdd)
	case schema.Event_Which_peerRemove:
		return peerEvent("peer-remove", e.PeerRemove)
	}
	return Event{}, false
}

func peerEvent(typ string, get func() (schema.Peer, error)) (Event, bool) {
	p, err := field(get, readPeer)
	return Event{Type: typ, Peer: &p}, err == nil
}
