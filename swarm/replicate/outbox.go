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
	ch   *wire.Channel
	m    wire.Message
	size int
}

func newOutbox(p *peer) *outbox {
	return &outbox{p: p, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// push queues m; it never blocks.
func (o *outbox) push(ch *wire.Channel, m wire.Message) {
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
	o.q = append(o.q, outMsg{ch, m, size})
	o.bytes += size
	over := o.bytes > o.p.r.opts.HighWater
	o.mu.Unlock()
	signal(o.wake)
	if over {
		o.p.kill(ErrSlowReader, fmt.Errorf("more than %d bytes queued", o.p.r.opts.HighWater))
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run writes queued messages until ctx ends or the stream fails.
func (o *outbox) run(ctx context.Context) {
	for {
		o.mu.Lock()
		batch := o.q
		o.q = nil
		o.mu.Unlock()
		for _, m := range batch {
			if !o.write(m) {
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-o.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (o *outbox) write(m outMsg) bool {
	now := o.p.r.opts.Now()
	o.mu.Lock()
	o.since = now
	o.mu.Unlock()
	var err error
	if m.ch == nil {
		err = o.p.s.Send(m.m)
	} else {
		err = m.ch.Send(m.m)
	}
	o.mu.Lock()
	o.since = time.Time{}
	o.bytes -= m.size
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
