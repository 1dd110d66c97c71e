package swarm

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
)

// AddPeer hands a peer found under a topic to the swarm's queue (queue.go):
// Run's dial loop dials it when it is the best ready peer and the swarm is
// below MaxPeers, retrying with backoff, and re-dials it when the
// connection ends. A topic's lookups (Join) feed the queue themselves;
// Leave removes the topic's peers, those it fed here included.
func (s *Swarm) AddPeer(f Found) { s.queue.add(f) }

// Unreachable tells, of the peers found under topic t, how many were
// dialled and never reached, and why the last of them failed (the TCP
// dial's error and the holepunch's, in one message).
func (s *Swarm) Unreachable(t [32]byte) (n int, lastErr string) { return s.queue.unreachable(t) }

// startDialLoop runs dialLoop until ctx ends or the swarm closes.
func (s *Swarm) startDialLoop(ctx context.Context) {
	s.spawn(func() { s.dialLoop(ctx) })
}

// dialLoop takes the queue's ready peers while the swarm has a place and
// dials each in the background, reporting back to the queue. A dial
// counts against MaxPeers from its launch (twice, briefly, once it has
// its place), so the loop never launches more dials than there are
// places.
func (s *Swarm) dialLoop(ctx context.Context) {
	defer s.queue.close()
	var launched atomic.Int64 // dials launched whose Dial has not returned
	for {
		if !s.waitPlace(ctx, &launched) {
			return
		}
		qp, ok := s.queue.next()
		if !ok {
			select {
			case <-s.queue.readyChan():
				continue
			case <-ctx.Done():
			case <-s.closing:
			}
			return
		}
		launched.Add(1)
		if !s.spawn(func() { s.dialQueued(ctx, qp, &launched) }) {
			return
		}
	}
}

// waitPlace waits until the connections and the dials launched leave a
// place; false means ctx ended or the swarm closed.
func (s *Swarm) waitPlace(ctx context.Context, launched *atomic.Int64) bool {
	for {
		s.mu.Lock()
		used := len(s.peers) + int(launched.Load())
		s.mu.Unlock()
		if used < s.opts.MaxPeers {
			return true
		}
		select {
		case <-s.freed:
		case <-ctx.Done():
			return false
		case <-s.closing:
			return false
		}
	}
}

// placeFreed wakes waitPlace: a connection let go of its place, or a
// dial returned.
func (s *Swarm) placeFreed() {
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// dialQueued dials qp and reports the outcome to the queue; a connection
// is watched until it ends.
func (s *Swarm) dialQueued(ctx context.Context, qp queuedPeer, launched *atomic.Int64) {
	p, err := s.dialQueuedPeer(ctx, qp)
	launched.Add(-1)
	s.placeFreed()
	var dup *duplicateError
	switch {
	case err == nil:
		s.queue.connected(qp.Addr)
		<-p.done
		if survivor := s.duplicateOf(p); survivor != nil {
			s.banUntilEnd(qp.Addr, survivor) // a later connection won over it
		} else {
			s.queue.disconnected(qp.Addr)
		}
	case errors.As(err, &dup):
		s.banUntilEnd(qp.Addr, dup.survivor)
	case errors.Is(err, ErrSelf):
		s.queue.ban(qp.Addr) // for good
	case errors.Is(err, ErrTooManyPeers):
		s.queue.requeue(qp.Addr) // an accept took the place: no fault of the peer's
	case errors.Is(err, ErrClosed) || ctx.Err() != nil:
		// the swarm is going
	default:
		s.queue.dialFailed(qp.Addr, err)
	}
}

// dialQueuedPeer is the one call site that connects to a queued peer:
// the race of TCP and, after a holepunch through the referrer, uTP
// (connect.go). A LAN peer has no referrer and is dialled over TCP only.
func (s *Swarm) dialQueuedPeer(ctx context.Context, qp queuedPeer) (*peer, error) {
	referrer := qp.Referrer
	if qp.Local {
		referrer = netip.AddrPort{}
	}
	return s.dialRace(ctx, qp.Addr, referrer)
}

// banUntilEnd bans addr, whose connection was a duplicate of survivor,
// until survivor ends; then addr is queued again at the lowest priority.
func (s *Swarm) banUntilEnd(addr netip.AddrPort, survivor *peer) {
	s.queue.ban(addr)
	<-survivor.done
	s.queue.unban(addr)
}

// spawn runs f in a goroutine that Close waits for; false (and f never
// runs) when the swarm is closed.
func (s *Swarm) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}
