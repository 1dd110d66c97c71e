package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3/flowcontrol"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// Limits of one Cursor.next answer, so that it stays far below
// MaxMessageSize however the client asks.
const (
	maxReadBlocks = 4096
	maxReadBytes  = 16 << 20
	// eventBatchWindow is how long changes gather before their event goes.
	eventBatchWindow = 5 * time.Millisecond
)

func (c *coreServer) Download(ctx context.Context, call schema.Core_download) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	a := call.Args()
	r := DownloadRange{Start: a.Start(), End: a.End(), Live: a.Live(), ToPeers: a.ToPeers(), Discover: a.Discover()}
	if r.ToPeers && (r.Live || r.End != 0) {
		return toWire(fmt.Errorf("download to the peers' length: no end and not live: %w", ErrBadRequest))
	}
	if r.End == 0 && !r.Live && !r.ToPeers {
		r.End = cr.Length()
	}
	if r.End < r.Start && !(r.Live && r.End == 0) {
		return toWire(fmt.Errorf("download [%d, %d): %w", r.Start, r.End, ErrBadRequest))
	}
	d, err := cr.Download(c.sess.ctx, r)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		d.Cancel()
		return err
	}
	return res.SetDownload(schema.Download_ServerToClient(&downloadServer{sess: c.sess, d: d, gone: c.sess.openStream()}))
}

// downloadServer is a client's view of one download; the session's end,
// like the client dropping it, cancels it.
type downloadServer struct {
	sess *session
	d    LocalDownload
	gone func()
}

// closed reports whether cr was closed (cheaply: Has reads one bit).
func closed(cr LocalCore) bool {
	_, err := cr.Has(context.Background(), 0)
	return errors.Is(err, core.ErrClosed)
}

func (d *downloadServer) Wait(ctx context.Context, call schema.Download_wait) error {
	finished, err := d.sess.begin()
	if err != nil {
		return err
	}
	defer finished()
	call.Go()
	select {
	case <-d.d.Done():
		return toWire(d.d.Err())
	case <-ctx.Done():
		return toWire(ctx.Err())
	}
}

func (d *downloadServer) Cancel(ctx context.Context, call schema.Download_cancel) error {
	d.d.Cancel()
	return nil
}

func (d *downloadServer) Progress(ctx context.Context, call schema.Download_progress) error {
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	out, err := res.NewProgress()
	if err != nil {
		return err
	}
	return writeDownloadProgress(out, d.d.Progress())
}

// Shutdown undownloads when the client drops the Download.
func (d *downloadServer) Shutdown() {
	d.d.Cancel()
	d.gone()
}

func (c *coreServer) Read(ctx context.Context, call schema.Core_read) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	a := call.Args()
	cur := &cursorServer{sess: c.sess, cr: cr, pos: a.Start(), end: a.End(), live: a.Live(), gone: c.sess.openStream()}
	if cur.end == 0 && !cur.live {
		cur.end = cr.Length()
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetCursor(schema.Cursor_ServerToClient(cur))
}

// cursorServer hands out a range of blocks in order, many per call. The
// client pulls, so it controls the flow.
type cursorServer struct {
	sess *session
	gone func()
	mu   sync.Mutex
	cr   LocalCore
	pos  uint64
	end  uint64 // exclusive; 0 with live means no end
	live bool
}

// Shutdown counts the cursor gone when the client drops it.
func (c *cursorServer) Shutdown() { c.gone() }

func (c *cursorServer) Next(ctx context.Context, call schema.Cursor_next) error {
	c.mu.Lock() // before Go, so calls take the lock in the order they came
	defer c.mu.Unlock()
	done, err := c.sess.begin()
	if err != nil {
		return err
	}
	defer done()
	call.Go()
	maxBlocks := min(max(call.Args().MaxBlocks(), 1), maxReadBlocks)
	maxBytes := min(max(call.Args().MaxBytes(), 1), maxReadBytes)
	start := c.pos
	blocks, room, err := c.batch(ctx, int(maxBlocks), int(maxBytes))
	defer room.cancel()
	if err != nil && len(blocks) == 0 {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetStart(start)
	res.SetDone(c.finished())
	list, err := res.NewBlocks(int32(len(blocks)))
	if err != nil {
		return err
	}
	size := 0
	for _, b := range blocks {
		size += len(b)
	}
	room.charge(res.Segment().Message(), size)
	return fillDataList(list, blocks)
}

// batch takes the next blocks, in room reserved for them among what the
// connection holds for its client. It waits for a block not here yet
// without holding room, so a live cursor at the end keeps none.
func (c *cursorServer) batch(ctx context.Context, maxBlocks, maxBytes int) ([][]byte, *sendReservation, error) {
	if c.finished() {
		return nil, nil, nil
	}
	room, err := c.sess.reserveSend(ctx, maxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read: wait for the client to read: %w", err)
	}
	blocks, err := c.collect(ctx, nil, maxBlocks, maxBytes)
	if len(blocks) > 0 || !errors.Is(err, core.ErrNotAvailable) {
		return blocks, room, err
	}
	room.cancel()
	first, err := c.cr.Get(ctx, c.pos, core.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	if room, err = c.sess.reserveSend(ctx, max(maxBytes, len(first))); err != nil {
		return nil, nil, fmt.Errorf("read: wait for the client to read: %w", err)
	}
	c.pos++
	blocks, err = c.collect(ctx, [][]byte{first}, maxBlocks, maxBytes)
	return blocks, room, err
}

// finished reports whether the range is exhausted. A live cursor with no
// end never is.
func (c *cursorServer) finished() bool {
	return (c.end != 0 || !c.live) && c.pos >= c.end
}

// collect appends to out the blocks from the cursor's position that are
// already here, up to maxBlocks and maxBytes (at least one block).
func (c *cursorServer) collect(ctx context.Context, out [][]byte, maxBlocks, maxBytes int) ([][]byte, error) {
	size := 0
	for _, b := range out {
		size += len(b)
	}
	for len(out) < maxBlocks && !c.finished() {
		b, err := c.cr.Get(ctx, c.pos, core.GetOptions{NoWait: true})
		if errors.Is(err, core.ErrNotAvailable) && len(out) > 0 {
			break
		}
		if err != nil {
			return out, err
		}
		if len(out) > 0 && size+len(b) > maxBytes {
			break
		}
		out = append(out, b)
		size += len(b)
		c.pos++
	}
	return out, nil
}

func (c *coreServer) Subscribe(ctx context.Context, call schema.Core_subscribe) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	if !call.Args().Sink().IsValid() {
		return toWire(fmt.Errorf("subscribe: no event sink: %w", ErrBadRequest))
	}
	sink := call.Args().Sink().AddRef()
	limits := c.sess.srv.opts.Limits
	sink.SetFlowLimiter(flowcontrol.NewFixedLimiter(limits.EventBytes))
	sctx, cancel := context.WithCancel(c.sess.ctx)
	length := cr.Length() // from now on every change is pushed
	c.sess.srv.subscriptions.Add(1)
	go func() {
		defer c.sess.srv.subscriptions.Add(-1)
		pushEvents(sctx, cancel, cr, sink, limits.SlowConsumer, length)
	}()
	if es, ok := cr.(EventSource); ok {
		c.sess.srv.subscriptions.Add(1)
		netSink := sink.AddRef()
		go func() {
			defer c.sess.srv.subscriptions.Add(-1)
			forwardEvents(sctx, cancel, es, netSink, limits.SlowConsumer)
		}()
	}
	res, err := call.AllocResults()
	if err != nil {
		cancel()
		return err
	}
	return res.SetSubscription(schema.Subscription_ServerToClient(subscriptionServer{cancel, c.sess.openStream()}))
}

// pushEvents sends the core's changes to sink, in order, until ctx ends,
// the core closes or the sink fails. Changes that pile up while a send is
// in flight go out together in the next batch; the flow limiter bounds the
// bytes in flight, and a subscriber that leaves a batch waiting longer than
// slow is dropped rather than allowed to hold memory.
func pushEvents(ctx context.Context, drop context.CancelFunc, cr LocalCore, sink schema.EventSink, slow time.Duration, length uint64) {
	defer sink.Release()
	for {
		changed := cr.Changed()
		if n := cr.Length(); n != length {
			length = n
			// A send blocks while the subscriber's window is full; the
			// call itself must outlive the send, so the watchdog drops
			// the whole subscription instead of cancelling one call.
			watchdog := time.AfterFunc(slow, drop)
			err := sendAppend(ctx, sink, n, cr.ByteLength())
			watchdog.Stop()
			if err != nil {
				return
			}
		}
		select {
		case <-changed:
			if closed(cr) {
				return
			}
		case <-ctx.Done():
			return
		}
		// Let a burst of changes gather into one event: a client appending
		// in a loop would otherwise get an event message per append.
		select {
		case <-time.After(eventBatchWindow):
		case <-ctx.Done():
			return
		}
	}
}

func sendAppend(ctx context.Context, sink schema.EventSink, length, byteLength uint64) error {
	return sink.Events(ctx, func(p schema.EventSink_events_Params) error {
		list, err := p.NewEvents(1)
		if err != nil {
			return err
		}
		ev := list.At(0)
		ev.SetAppend()
		ev.Append().SetLength(length)
		ev.Append().SetByteLength(byteLength)
		return nil
	})
}

// subscriptionServer ends its subscription when the client drops it.
type subscriptionServer struct {
	cancel context.CancelFunc
	gone   func()
}

func (s subscriptionServer) Shutdown() {
	s.cancel()
	s.gone()
}

func (c *coreServer) RegisterExtension(ctx context.Context, call schema.Core_registerExtension) error {
	cr, err := c.core()
	if err != nil {
		return err
	}
	name, err := call.Args().Name()
	if err != nil || name == "" || len(name) > maxExtensionName {
		return toWire(fmt.Errorf("register extension: a name of 1 to %d bytes: %w", maxExtensionName, ErrBadRequest))
	}
	if !call.Args().Handler().IsValid() {
		return toWire(fmt.Errorf("register extension: no handler: %w", ErrBadRequest))
	}
	handler := call.Args().Handler().AddRef()
	handler.SetFlowLimiter(flowcontrol.NewFixedLimiter(c.sess.srv.opts.Limits.EventBytes))
	sink := &extensionSink{ctx: c.sess.ctx, handler: handler}
	x, err := cr.Extension(name, sink.deliver)
	if err != nil {
		handler.Release()
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		x.Close()
		handler.Release()
		return err
	}
	return res.SetExtension(schema.Extension_ServerToClient(&extensionServer{x: x, handler: handler, gone: c.sess.openStream()}))
}

// maxExtensionName bounds an extension's name, as it crosses the wire.
const maxExtensionName = 256

// extensionServer is a registered extension.
type extensionServer struct {
	x       LocalExtension
	handler schema.ExtensionHandler
	gone    func()
}

func (e *extensionServer) Send(ctx context.Context, call schema.Extension_send) error {
	data, _ := call.Args().Data()
	if len(data) > core.MaxBlockSize {
		return toWire(fmt.Errorf("extension message of %d bytes: %w", len(data), ErrTooLarge))
	}
	var peer *core.Key
	if b, _ := call.Args().Peer(); len(b) > 0 {
		k, err := keyArg(call.Args().Peer)
		if err != nil {
			return toWire(fmt.Errorf("send extension message: peer: %w", err))
		}
		peer = &k
	}
	n, err := e.x.Send(ctx, data, peer)
	if err != nil {
		return toWire(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetPeers(uint32(n))
	return nil
}

func (e *extensionServer) Shutdown() {
	e.x.Close()
	e.handler.Release()
	e.gone()
}

// extensionSink passes a peer's extension messages on to the client's
// handler, in order; the flow limiter bounds what waits for the client.
type extensionSink struct {
	ctx     context.Context
	handler schema.ExtensionHandler
}

func (s *extensionSink) deliver(peer core.Key, data []byte) {
	s.handler.Message(s.ctx, func(p schema.ExtensionHandler_message_Params) error {
		if err := p.SetPeer(peer[:]); err != nil {
			return err
		}
		return p.SetData(data)
	})
}
