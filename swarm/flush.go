package swarm

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// flushPoll is how often a Flush looks whether its peers were tried.
const flushPoll = 10 * time.Millisecond

// Flush waits until everyone findable under topic t so far has been
// tried (hyperswarm2.md §7): the round of t running now (its first, if
// none ended yet) has ended, then every peer of t that was queued at
// priority 2 or more or never dialled, or being dialled, has had one
// dial attempt, its
// Noise handshake included, or the swarm is full. A topic not joined has
// no round to wait for. ctx bounds the wait.
func (s *Swarm) Flush(ctx context.Context, t [32]byte) error {
	if err := s.flushRound(ctx, t); err != nil {
		return err
	}
	marks := s.queue.flushMarks(t)
	tick := time.NewTicker(flushPoll)
	defer tick.Stop()
	for !s.queue.tried(marks) && !s.full() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("flush: dial the peers found: %w", ctx.Err())
		case <-s.closing:
			return ErrClosed
		}
	}
	return nil
}

// flushRound waits for the end of t's round running now.
func (s *Swarm) flushRound(ctx context.Context, t [32]byte) error {
	s.mu.Lock()
	tp := s.topics[t]
	s.mu.Unlock()
	if tp == nil {
		return nil
	}
	tp.mu.Lock()
	target := max(tp.started, 1)
	tp.mu.Unlock()
	for {
		tp.mu.Lock()
		ended, rounds := tp.ended, tp.status.Rounds
		tp.mu.Unlock()
		if rounds >= target {
			return nil
		}
		select {
		case <-ended:
		case <-tp.done:
			return nil // left meanwhile
		case <-ctx.Done():
			return fmt.Errorf("flush: wait for the lookup: %w", ctx.Err())
		}
	}
}

// full reports whether the swarm has no place for another connection.
func (s *Swarm) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers) >= s.opts.MaxPeers
}

// flushMark is a peer a Flush waits for: until its dials pass dials.
type flushMark struct {
	addr  netip.AddrPort
	e     *qentry
	dials int
}

// flushMarks lists t's peers that wait for a dial at priority 2 or more
// or for their first, or are being dialled. JS waits for none at
// priority 1, which a peer behind our own public IP gets; we wait for its
// first dial, since on a LAN (and on loopback) it is the one that
// answers.
func (q *peerQueue) flushMarks(t [32]byte) []flushMark {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []flushMark
	for addr, e := range q.entries {
		if _, ok := e.topics[t]; !ok {
			continue
		}
		if (e.state == stateQueued && (e.priority >= 2 || !e.tried)) || (e.state == stateActive && e.dialing) {
			out = append(out, flushMark{addr: addr, e: e, dials: e.dials})
		}
	}
	return out
}

// tried reports whether every marked peer had its dial, or is gone.
func (q *peerQueue) tried(marks []flushMark) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	for _, m := range marks {
		if q.entries[m.addr] == m.e && m.e.dials <= m.dials && m.e.state != stateBanned && m.e.state != stateDropped {
			return false
		}
	}
	return true
}
