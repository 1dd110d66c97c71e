package replicate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// outbox queues what we send a peer, so that no lock is held while the
// connection blocks; a writer goroutine drains it. A peer whose queue
// passes Options.HighWater is cut off as a slow reader.
type outbox struct {
	p     *peer
	mu    sync.Mutex
	q     []outMsg
	bytes int
	since time.Time // when the write in progress started; zero when idle
	wake  chan struct{}
	space chan struct{}
}

type outMsg struct {
	ch    *wire.Channel
	m     wire.Message
	size  int
	close *peerChan // not a message: close this channel, after what came before
	buf   *[]byte   // a Data's value buffer, recycled once written
}

func newOutbox(p *peer) *outbox {
	return &outbox{p: p, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// push queues m; it never blocks. buf, if not nil, holds the value of a
// Data and goes back to blockBufs once m is written.
func (o *outbox) push(ch *wire.Channel, m wire.Message, buf *[]byte) {
	size := 16
	switch m := m.(type) {
	case wire.Data:
		size += len(m.Value) + 40*len(m.Nodes) + len(m.Signature)
	case wire.Have:
		size += len(m.Bitfield)
	case wire.Extension:
		size += len(m.Payload)
	}
	o.mu.Lock()
	o.q = append(o.q, outMsg{ch: ch, m: m, size: size, buf: buf})
	o.bytes += size
	over := o.bytes > o.p.r.opts.HighWater
	o.mu.Unlock()
	signal(o.wake)
	if over {
		o.p.kill(ErrSlowReader, fmt.Errorf("more than %d bytes queued", o.p.r.opts.HighWater))
	}
}

// pushClose queues the closing of pc's channel behind what is queued.
func (o *outbox) pushClose(pc *peerChan) {
	o.mu.Lock()
	o.q = append(o.q, outMsg{close: pc})
	o.mu.Unlock()
	signal(o.wake)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run writes queued messages until ctx ends or the stream fails.
func (o *outbox) run(ctx context.Context) {
	var out []wire.Outgoing
	var bufs []outMsg
	for {
		o.mu.Lock()
		batch := o.q
		o.q = nil
		o.mu.Unlock()
		for len(batch) > 0 {
			if pc := batch[0].close; pc != nil {
				batch = batch[1:]
				o.p.close(pc.cs)
				continue
			}
			n, size := 0, 0
			for n < len(batch) && batch[n].close == nil && (n == 0 || size+batch[n].size <= writeChunk) {
				size += batch[n].size
				n++
			}
			out, bufs = out[:0], bufs[:0]
			for _, m := range batch[:n] {
				out = append(out, wire.Outgoing{Channel: m.ch, Message: m.m})
				if m.buf != nil {
					bufs = append(bufs, m)
				}
			}
			clear(batch[:n])
			batch = batch[n:]
			ok := o.write(out, size)
			clear(out)
			recycle(bufs)
			if !ok {
				return
			}
		}
		select {
		case <-o.wake:
		case <-ctx.Done():
			return
		}
	}
}

// recycle gives the value buffers of written Data messages back.
func recycle(msgs []outMsg) {
	for _, m := range msgs {
		putBlockBuf(m.buf, m.m.(wire.Data).Value)
	}
	clear(msgs)
}

// writeChunk is about how many queued bytes one write takes: the frames of
// a burst leave in one system call, and the queue shrinks as they go.
const writeChunk = 256 << 10

// write sends msgs, size bytes of the queue, in as few writes as it can.
// Messages for channels closed meanwhile are dropped.
func (o *outbox) write(msgs []wire.Outgoing, size int) bool {
	now := o.p.r.opts.Now()
	o.mu.Lock()
	o.since = now
	o.mu.Unlock()
	err := o.p.s.SendBatch(msgs, nil)
	o.mu.Lock()
	o.since = time.Time{}
	o.bytes -= size
	o.mu.Unlock()
	signal(o.space)
	return err == nil || errors.Is(err, wire.ErrChannelClosed)
}

// stalledSince is when the write in progress started (zero if none).
func (o *outbox) stalledSince() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.since
}

// waitBelow waits until less than limit bytes are queued.
func (o *outbox) waitBelow(ctx context.Context, limit int) error {
	for {
		o.mu.Lock()
		n := o.bytes
		o.mu.Unlock()
		if n < limit {
			return nil
		}
		select {
		case <-o.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
