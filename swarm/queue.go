package swarm

import (
	"container/list"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// The peer queue is hyperswarm 2's (lib/queue.js and lib/peer-info.js,
// spec §5.3) in the multiplex mode @corestore/networker asks for: one
// entry per host:port, whatever the topics it was found under.
//
//	priority  when
//	5, 4      reconnecting after 1, 2 retries (it had connected before)
//	3         a LAN peer (Found.Local)
//	2         a new remote peer
//	1         its host is ours as the referrer saw us (Found.To): behind
//	          our NAT, probably; its retries start spent, so one attempt
//	          only (also a peer that had connected, on its 3rd retry)
//	0         tried and never connected; a duplicate let go again
//
// The dialler takes the ready entry of highest priority, at random among
// equals. A failed dial or a dropped connection brings the entry back
// after about 1 s, then 5 s, then 15 s (each 0.66–1.33× that, as JS's
// batch timer gives); the failure after the 3rd retry drops it, and a
// dropped entry is forgotten 7.5 s later so that a later discovery starts
// afresh (until then it is ignored). A connection resets the retries. A
// banned entry (the address gave a duplicate connection, or ourselves)
// is never forgotten; a duplicate's comes back at the lowest priority
// when the connection it duplicated ends.
//
// Leaving a topic removes it from every entry; an entry left with none is
// forgotten (at once, or when its dial or connection ends). The queue
// holds at most queueMaxEntries entries, because a DHT node chooses what
// it answers: past it a new address evicts the entry dropped longest ago,
// or, if none is dropped, is refused.
type peerQueue struct {
	cfg queueConfig

	mu      sync.Mutex // guards the fields below and every entry
	closed  bool
	entries map[netip.AddrPort]*qentry
	ready   [queuePriorities][]*qentry // queued entries by priority, unordered
	dropped *list.List                 // dropped entries, oldest first
	refused int                        // new addresses refused at the cap
	readyc  chan struct{}              // signalled when an entry is queued
}

// queuePriorities counts the priorities, 0 to 5.
const queuePriorities = 6

// Defaults of queueConfig.
const (
	queueMaxEntries = 4096
	queueForget     = 7500 * time.Millisecond
)

var queueRetry = [3]time.Duration{time.Second, 5 * time.Second, 15 * time.Second}

// queueConfig tunes a peerQueue; zero fields take the defaults.
type queueConfig struct {
	clock  clock
	rand   *rand.Rand       // shuffles and jitters; used under the queue's lock
	retry  [3]time.Duration // the pause before each retry: queueRetry
	forget time.Duration    // how long a dropped entry is remembered
	max    int              // entries held at most
}

// clock is the time the queue runs on: the real one, or a fake in tests.
type clock interface {
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// entryState is where an entry is.
type entryState uint8

const (
	stateQueued  entryState = iota // ready, in peerQueue.ready
	stateWaiting                   // a retry's pause runs
	stateActive                    // handed out: dialling or connected
	stateDropped                   // out of retries; forgotten when the timer fires
	stateBanned                    // never handed out, never forgotten
)

// qentry is one address the queue knows.
type qentry struct {
	addr     netip.AddrPort
	referrer netip.AddrPort
	local    bool
	topics   map[[32]byte]struct{}
	state    entryState
	priority int
	retries  int
	tried    bool          // handed out at least once
	proven   bool          // connected at least once
	dialing  bool          // handed out, its dial not reported yet
	dials    int           // dials reported (flush.go waits on it)
	lastErr  string        // why its last dial failed
	slot     int           // index in ready[priority] while queued
	timer    stopper       // the retry pause or the forgetting, while waiting or dropped
	dropEl   *list.Element // in dropped while dropped
}

// queuedPeer is an entry handed to the dialler.
type queuedPeer struct {
	Addr netip.AddrPort
	// Referrer is the DHT node that told us of Addr (for a holepunch).
	Referrer netip.AddrPort
	// Local: Addr came from a LAN list.
	Local    bool
	Priority int
}

func newPeerQueue(cfg queueConfig) *peerQueue {
	if cfg.clock == nil {
		cfg.clock = realClock{}
	}
	if cfg.rand == nil {
		cfg.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	for i, d := range cfg.retry {
		cfg.retry[i] = positiveOr(d, queueRetry[i])
	}
	cfg.forget = positiveOr(cfg.forget, queueForget)
	cfg.max = positiveOr(cfg.max, queueMaxEntries)
	return &peerQueue{
		cfg:     cfg,
		entries: make(map[netip.AddrPort]*qentry),
		dropped: list.New(),
		readyc:  make(chan struct{}, 1),
	}
}

// add records a peer found under f.Topic. A known address only gains the
// topic (and the referrer, if it had none); a new one is queued.
func (q *peerQueue) add(f Found) {
	addr := netip.AddrPortFrom(f.Addr.Addr().Unmap(), f.Addr.Port())
	if !addr.IsValid() || addr.Port() == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if e := q.entries[addr]; e != nil {
		e.topics[f.Topic] = struct{}{}
		if !e.referrer.IsValid() {
			e.referrer = f.Referrer
		}
		return
	}
	if len(q.entries) >= q.cfg.max && !q.evictDropped() {
		q.refused++
		return
	}
	e := &qentry{addr: addr, referrer: f.Referrer, local: f.Local, topics: map[[32]byte]struct{}{f.Topic: {}}}
	if !f.Local && f.To.IsValid() && f.To.Addr().Unmap() == addr.Addr() {
		e.retries = len(q.cfg.retry) // one attempt only
	}
	e.priority = e.currentPriority()
	q.entries[addr] = e
	q.push(e)
}

// currentPriority is peer-info.js's priority().
func (e *qentry) currentPriority() int {
	switch {
	case e.tried && !e.proven:
		return 0
	case e.retries == 3:
		return 1
	case e.retries == 2:
		return 4
	case e.retries == 1:
		return 5
	case e.local:
		return 3
	}
	return 2
}

// next hands out a ready entry of the highest priority, at random among
// them; false when none is ready. The entry is active until the dialler
// reports on it (connected, failed, disconnected, requeue, ban).
func (q *peerQueue) next() (queuedPeer, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for p := queuePriorities - 1; p >= 0; p-- {
		if n := len(q.ready[p]); n > 0 {
			e := q.ready[p][q.cfg.rand.IntN(n)]
			q.unqueue(e)
			e.state, e.tried, e.dialing = stateActive, true, true
			return queuedPeer{Addr: e.addr, Referrer: e.referrer, Local: e.local, Priority: e.priority}, true
		}
	}
	return queuedPeer{}, false
}

// readyChan is signalled whenever an entry becomes ready: after next
// says none is, wait on it.
func (q *peerQueue) readyChan() <-chan struct{} { return q.readyc }

// connected: the dial of addr gave a connection, which resets its retries.
func (q *peerQueue) connected(addr netip.AddrPort) {
	q.report(addr, func(e *qentry) {
		e.proven, e.retries = true, 0
	})
}

// failed: the dial of addr gave no connection; it is retried after a
// pause, or dropped.
func (q *peerQueue) failed(addr netip.AddrPort) { q.report(addr, q.retryOrDrop) }

// dialFailed is failed, keeping why for Unreachable.
func (q *peerQueue) dialFailed(addr netip.AddrPort, err error) {
	q.report(addr, func(e *qentry) {
		e.lastErr = err.Error()
		q.retryOrDrop(e)
	})
}

// unreachable counts t's entries that never connected and whose last
// dial failed, and tells the failure of the one dialled last.
func (q *peerQueue) unreachable(t [32]byte) (n int, lastErr string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	last := -1
	for _, e := range q.entries {
		if _, ok := e.topics[t]; !ok || e.proven || e.lastErr == "" {
			continue
		}
		n++
		if e.dials > last {
			last, lastErr = e.dials, e.lastErr
		}
	}
	return n, lastErr
}

// disconnected: the connection to addr ended; it is re-dialled after a
// pause (the first retry), or dropped.
func (q *peerQueue) disconnected(addr netip.AddrPort) { q.report(addr, q.retryOrDrop) }

// requeue puts addr back as it was, no retry counted: the dial never
// started (the swarm was full).
func (q *peerQueue) requeue(addr netip.AddrPort) { q.report(addr, q.push) }

// ban keeps addr from being handed out until unban (a duplicate), or for
// good (ourselves). Only an active entry is banned.
func (q *peerQueue) ban(addr netip.AddrPort) {
	q.report(addr, func(e *qentry) { e.state = stateBanned })
}

// unban re-queues a banned addr at the lowest priority: the connection it
// duplicated has ended.
func (q *peerQueue) unban(addr netip.AddrPort) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.entries[addr]
	if q.closed || e == nil || e.state != stateBanned {
		return
	}
	if len(e.topics) == 0 {
		q.forget(e)
		return
	}
	e.retries, e.priority = 0, 0
	q.push(e)
}

// report applies f to addr's entry if it is active; an active entry whose
// topics were all left is forgotten instead, unless f keeps it active.
func (q *peerQueue) report(addr netip.AddrPort, f func(*qentry)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.entries[addr]
	if q.closed || e == nil || e.state != stateActive {
		return
	}
	if e.dialing {
		e.dialing = false
		e.dials++
	}
	f(e)
	if e.state != stateActive && len(e.topics) == 0 {
		q.forget(e)
	}
}

// retryOrDrop is queue.js's requeue: a pause, then the next retry at the
// priority it then has; past the last retry, dropped.
func (q *peerQueue) retryOrDrop(e *qentry) {
	if e.retries >= len(q.cfg.retry) {
		e.state = stateDropped
		e.dropEl = q.dropped.PushBack(e)
		e.timer = q.cfg.clock.AfterFunc(q.cfg.forget, func() { q.expire(e, stateDropped) })
		return
	}
	pause := q.jitter(q.cfg.retry[e.retries])
	e.retries++
	e.priority = e.currentPriority()
	e.state = stateWaiting
	e.timer = q.cfg.clock.AfterFunc(pause, func() { q.expire(e, stateWaiting) })
}

// jitter is d times 0.66 to 1.33, as a batch timer ticking every 0.66·d
// serves an entry one or two ticks after it joins.
func (q *peerQueue) jitter(d time.Duration) time.Duration {
	lo := d * 66 / 100
	return lo + time.Duration(q.cfg.rand.Int64N(int64(d*67/100)+1))
}

// expire ends e's pause (queued again) or its memory (forgotten), if e is
// still in the state the timer was set for.
func (q *peerQueue) expire(e *qentry, was entryState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.entries[e.addr] != e || e.state != was {
		return
	}
	e.timer = nil
	if was == stateDropped {
		q.forget(e)
		return
	}
	q.push(e)
}

// leave removes topic from every entry, forgetting those left with none
// (an active one when its dial or connection ends).
func (q *peerQueue) leave(topic [32]byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.entries {
		if _, ok := e.topics[topic]; !ok {
			continue
		}
		delete(e.topics, topic)
		if len(e.topics) == 0 && e.state != stateActive {
			q.forget(e)
		}
	}
}

// len is the number of entries held, in any state.
func (q *peerQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// queueCounts are the entries by state, and the addresses refused at the
// cap.
type queueCounts struct {
	Ready, Waiting, Active, Dropped, Banned, Refused int
}

func (q *peerQueue) counts() queueCounts {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := queueCounts{Refused: q.refused}
	for _, e := range q.entries {
		switch e.state {
		case stateQueued:
			c.Ready++
		case stateWaiting:
			c.Waiting++
		case stateActive:
			c.Active++
		case stateDropped:
			c.Dropped++
		case stateBanned:
			c.Banned++
		}
	}
	return c
}

// close stops every timer and forgets everything; later calls do nothing.
func (q *peerQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.entries {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	q.closed = true
	q.entries = nil
	q.ready = [queuePriorities][]*qentry{}
	q.dropped.Init()
}

// push queues e at its priority and signals readyc.
func (q *peerQueue) push(e *qentry) {
	e.state = stateQueued
	e.slot = len(q.ready[e.priority])
	q.ready[e.priority] = append(q.ready[e.priority], e)
	select {
	case q.readyc <- struct{}{}:
	default:
	}
}

// unqueue takes queued e out of its priority's list.
func (q *peerQueue) unqueue(e *qentry) {
	b := q.ready[e.priority]
	last := len(b) - 1
	b[e.slot] = b[last]
	b[e.slot].slot = e.slot
	b[last] = nil
	q.ready[e.priority] = b[:last]
}

// forget deletes e in whatever state it is.
func (q *peerQueue) forget(e *qentry) {
	switch e.state {
	case stateQueued:
		q.unqueue(e)
	case stateDropped:
		q.dropped.Remove(e.dropEl)
	}
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	delete(q.entries, e.addr)
}

// evictDropped forgets the entry dropped longest ago; false if none is.
func (q *peerQueue) evictDropped() bool {
	front := q.dropped.Front()
	if front == nil {
		return false
	}
	q.forget(front.Value.(*qentry))
	return true
}
