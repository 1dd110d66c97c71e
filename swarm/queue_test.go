package swarm

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock runs AfterFunc callbacks when advance passes their time, in
// time order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Duration
	f    func()
	done bool // fired or stopped
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	target := c.now + d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var due *fakeTimer
		for _, t := range c.timers {
			if !t.done && t.at <= target && (due == nil || t.at < due.at) {
				due = t
			}
		}
		if due == nil {
			c.now = target
			c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t.done })
			c.mu.Unlock()
			return
		}
		c.now, due.done = due.at, true
		c.mu.Unlock()
		due.f()
	}
}

func testQueue(seed uint64, cfg queueConfig) (*peerQueue, *fakeClock) {
	clk := &fakeClock{}
	cfg.clock = clk
	cfg.rand = rand.New(rand.NewPCG(seed, 1))
	return newPeerQueue(cfg), clk
}

// qaddr is a distinct remote address for each i.
func qaddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 49737)
}

func qtopic(i int) [32]byte { return [32]byte{byte(i)} }

// ourAddr is our address as a referrer saw it.
var ourAddr = netip.MustParseAddrPort("203.0.113.1:40000")

func remotePeer(i int, topic [32]byte) Found {
	return Found{Topic: topic, Addr: qaddr(i), Referrer: netip.MustParseAddrPort("192.0.2.1:49737"), To: ourAddr}
}

func mustNext(t *testing.T, q *peerQueue) queuedPeer {
	t.Helper()
	qp, ok := q.next()
	if !ok {
		t.Fatalf("nothing ready; %+v", q.counts())
	}
	return qp
}

func noneReady(t *testing.T, q *peerQueue) {
	t.Helper()
	if qp, ok := q.next(); ok {
		t.Fatalf("%v ready (priority %d), want none", qp.Addr, qp.Priority)
	}
}

// pause advances the clock in steps of 10 ms until an entry is ready and
// returns it with the time that took.
func pause(t *testing.T, q *peerQueue, clk *fakeClock, limit time.Duration) (queuedPeer, time.Duration) {
	t.Helper()
	const step = 10 * time.Millisecond
	for waited := time.Duration(0); waited <= limit; waited += step {
		if qp, ok := q.next(); ok {
			return qp, waited
		}
		clk.advance(step)
	}
	t.Fatalf("nothing ready within %v; %+v", limit, q.counts())
	return queuedPeer{}, 0
}

// within checks that a pause of nominal d took 0.66–1.33 d (and a step).
func within(t *testing.T, what string, got, d time.Duration) {
	t.Helper()
	if lo, hi := d*66/100, d*133/100+10*time.Millisecond; got < lo || got > hi {
		t.Fatalf("%s: pause %v, want %v–%v", what, got, lo, hi)
	}
}

// TestQueuePriorities: LAN peers first, then new remote ones, then those
// on our own host, whatever the order they came in.
func TestQueuePriorities(t *testing.T) {
	for seed := range uint64(50) {
		q, _ := testQueue(seed, queueConfig{})
		var want []int
		for i := range 9 {
			f := remotePeer(i, qtopic(1))
			switch i % 3 {
			case 0:
				f.Local = true
				want = append(want, 3)
			case 1:
				want = append(want, 2)
			case 2:
				f.To = netip.AddrPortFrom(f.Addr.Addr(), 1234) // our host, another port
				want = append(want, 1)
			}
			q.add(f)
		}
		slices.SortFunc(want, func(a, b int) int { return b - a })
		var got []int
		for range 9 {
			got = append(got, mustNext(t, q).Priority)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: priorities %v, want %v", seed, got, want)
		}
		noneReady(t, q)
	}
}

// TestQueueShuffles: equals come out in random order.
func TestQueueShuffles(t *testing.T) {
	first := map[netip.AddrPort]int{}
	for seed := range uint64(200) {
		q, _ := testQueue(seed, queueConfig{})
		for i := range 8 {
			q.add(remotePeer(i, qtopic(1)))
		}
		first[mustNext(t, q).Addr]++
	}
	if len(first) != 8 {
		t.Fatalf("over 200 shuffles only %d of 8 peers came first: %v", len(first), first)
	}
}

// TestQueueBackoffNewPeer: a peer that never connects is retried after
// about 1, 5 and 15 s at priority 0, dropped at the 4th failure, ignored
// while remembered and new again once forgotten 7.5 s later.
func TestQueueBackoffNewPeer(t *testing.T) {
	for seed := range uint64(20) {
		q, clk := testQueue(seed, queueConfig{})
		q.add(remotePeer(1, qtopic(1)))
		if qp := mustNext(t, q); qp.Priority != 2 {
			t.Fatalf("a new peer at priority %d", qp.Priority)
		}
		for i, d := range queueRetry {
			q.failed(qaddr(1))
			qp, took := pause(t, q, clk, 30*time.Second)
			within(t, fmt.Sprintf("seed %d retry %d", seed, i+1), took, d)
			if qp.Priority != 0 {
				t.Fatalf("retry %d at priority %d, want 0", i+1, qp.Priority)
			}
		}
		q.failed(qaddr(1))
		if c := q.counts(); c != (queueCounts{Dropped: 1}) {
			t.Fatalf("after the 4th failure: %+v, want one dropped", c)
		}
		clk.advance(7 * time.Second)
		q.add(remotePeer(1, qtopic(2)))
		noneReady(t, q)
		clk.advance(500 * time.Millisecond)
		if n := q.len(); n != 0 {
			t.Fatalf("%d entries 7.5 s after the drop, want it forgotten", n)
		}
		q.add(remotePeer(1, qtopic(1)))
		if qp := mustNext(t, q); qp.Priority != 2 {
			t.Fatalf("rediscovered at priority %d, want 2 (a fresh start)", qp.Priority)
		}
	}
}

// TestQueueBackoffReconnect: a connection that ends is re-dialled after
// about 1 s at priority 5, then 5 s at 4, then 15 s at 1, then dropped;
// a connection on the way resets the retries.
func TestQueueBackoffReconnect(t *testing.T) {
	for seed := range uint64(20) {
		q, clk := testQueue(seed, queueConfig{})
		q.add(remotePeer(1, qtopic(1)))
		mustNext(t, q)
		q.connected(qaddr(1))
		q.disconnected(qaddr(1))
		noneReady(t, q)
		wantPrio := []int{5, 4, 1}
		for i, d := range queueRetry {
			if i > 0 {
				q.failed(qaddr(1))
			}
			qp, took := pause(t, q, clk, 30*time.Second)
			within(t, fmt.Sprintf("seed %d retry %d", seed, i+1), took, d)
			if qp.Priority != wantPrio[i] {
				t.Fatalf("retry %d at priority %d, want %d", i+1, qp.Priority, wantPrio[i])
			}
			if i == 1 && seed%2 == 0 { // connected again: back to the first retry
				q.connected(qaddr(1))
				q.disconnected(qaddr(1))
				qp, took = pause(t, q, clk, 30*time.Second)
				within(t, "after a reconnect", took, queueRetry[0])
				if qp.Priority != 5 {
					t.Fatalf("after a reconnect: priority %d, want 5", qp.Priority)
				}
				q.failed(qaddr(1))
				pause(t, q, clk, 30*time.Second)
			}
		}
		q.failed(qaddr(1))
		if c := q.counts(); c != (queueCounts{Dropped: 1}) {
			t.Fatalf("after the 3rd retry failed: %+v, want one dropped", c)
		}
	}
}

// TestQueueOurHostOnce: a peer on our own host (as the referrer saw us)
// gets one attempt; a LAN peer there is just a LAN peer.
func TestQueueOurHostOnce(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	f := remotePeer(1, qtopic(1))
	f.To = netip.AddrPortFrom(netip.MustParseAddr("::ffff:"+f.Addr.Addr().String()), 5)
	q.add(f)
	if qp := mustNext(t, q); qp.Priority != 1 {
		t.Fatalf("priority %d, want 1", qp.Priority)
	}
	q.failed(f.Addr)
	if c := q.counts(); c != (queueCounts{Dropped: 1}) {
		t.Fatalf("after its one attempt: %+v, want it dropped", c)
	}
	clk.advance(time.Minute)

	f.Local = true
	q.add(f)
	if qp := mustNext(t, q); qp.Priority != 3 || !qp.Local {
		t.Fatalf("a LAN peer on our host: %+v, want priority 3", qp)
	}
}

// TestQueueMultiplex: one entry per host:port over all its topics; it
// goes when its last topic is left.
func TestQueueMultiplex(t *testing.T) {
	q, _ := testQueue(1, queueConfig{})
	f := remotePeer(1, qtopic(1))
	q.add(f)
	f.Topic = qtopic(2)
	f.Addr = netip.AddrPortFrom(netip.MustParseAddr("::ffff:"+f.Addr.Addr().String()), f.Addr.Port())
	q.add(f)
	q.add(remotePeer(2, qtopic(2)))
	if n := q.len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	q.leave(qtopic(1))
	if n := q.len(); n != 2 {
		t.Fatalf("%d entries after leaving topic 1, want 2", n)
	}
	q.leave(qtopic(2))
	if n := q.len(); n != 0 {
		t.Fatalf("%d entries after leaving both, want none", n)
	}
	noneReady(t, q)
}

// TestQueueLeaveWhileActive: an entry being dialled when its last topic
// is left is forgotten once the dial reports; one found again meanwhile
// stays.
func TestQueueLeaveWhileActive(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	q.add(remotePeer(1, qtopic(1)))
	q.add(remotePeer(2, qtopic(1)))
	a, b := mustNext(t, q), mustNext(t, q)
	q.leave(qtopic(1))
	if n := q.len(); n != 2 {
		t.Fatalf("%d entries, want the two active ones", n)
	}
	q.add(Found{Topic: qtopic(3), Addr: b.Addr})
	q.failed(a.Addr)
	q.failed(b.Addr)
	if c := q.counts(); c != (queueCounts{Waiting: 1}) {
		t.Fatalf("%+v, want only the rediscovered one, waiting", c)
	}
	if qp, _ := pause(t, q, clk, 2*time.Second); qp.Addr != b.Addr {
		t.Fatalf("retried %v, want %v", qp.Addr, b.Addr)
	}
}

// TestQueueBan: a banned entry is never handed out nor forgotten; unban
// queues it at the lowest priority.
func TestQueueBan(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	q.add(remotePeer(1, qtopic(1)))
	qp := mustNext(t, q)
	q.connected(qp.Addr)
	q.ban(qp.Addr)
	q.add(remotePeer(1, qtopic(2)))
	clk.advance(time.Hour)
	noneReady(t, q)
	if c := q.counts(); c != (queueCounts{Banned: 1}) {
		t.Fatalf("%+v, want one banned", c)
	}
	q.disconnected(qp.Addr) // not active: ignored
	q.add(remotePeer(2, qtopic(1)))
	q.unban(qp.Addr)
	q.unban(qaddr(2)) // not banned: ignored
	if got := mustNext(t, q); got.Addr != qaddr(2) || got.Priority != 2 {
		t.Fatalf("first %+v, want the new peer at 2", got)
	}
	if got := mustNext(t, q); got.Addr != qp.Addr || got.Priority != 0 {
		t.Fatalf("then %+v, want the unbanned one at 0", got)
	}
	q.ban(qaddr(9)) // unknown: ignored
}

// TestQueueRequeue: an entry put back (the swarm was full) keeps its
// priority and retries.
func TestQueueRequeue(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	q.add(remotePeer(1, qtopic(1)))
	q.requeue(mustNext(t, q).Addr)
	if qp := mustNext(t, q); qp.Priority != 2 {
		t.Fatalf("requeued at priority %d, want 2", qp.Priority)
	}
	q.failed(qaddr(1))
	_, took := pause(t, q, clk, 3*time.Second)
	within(t, "the first retry after a requeue", took, queueRetry[0])
}

// TestQueueCap: past the cap a new address evicts the entry dropped
// longest ago, else is refused; the default cap is queueMaxEntries.
func TestQueueCap(t *testing.T) {
	q, _ := testQueue(1, queueConfig{})
	for i := range queueMaxEntries + 100 {
		q.add(remotePeer(i, qtopic(1)))
	}
	if n, c := q.len(), q.counts(); n != queueMaxEntries || c.Refused != 100 {
		t.Fatalf("%d entries, %d refused; want %d and 100", n, c.Refused, queueMaxEntries)
	}

	q, _ = testQueue(1, queueConfig{max: 4})
	for i := range 2 { // two dropped: peers on our host get one attempt
		f := remotePeer(i, qtopic(1))
		f.To = netip.AddrPortFrom(f.Addr.Addr(), 1)
		q.add(f)
		q.failed(mustNext(t, q).Addr)
	}
	q.add(remotePeer(2, qtopic(1)))
	q.add(remotePeer(3, qtopic(1)))
	q.add(remotePeer(4, qtopic(1)))
	if c := q.counts(); c != (queueCounts{Ready: 3, Dropped: 1}) {
		t.Fatalf("%+v, want a dropped one evicted", c)
	}
	q.mu.Lock()
	_, oldest := q.entries[qaddr(0)]
	q.mu.Unlock()
	if oldest {
		t.Fatal("the entry dropped first is still there")
	}
	q.add(remotePeer(5, qtopic(1)))
	q.add(remotePeer(6, qtopic(1)))
	if c := q.counts(); c != (queueCounts{Ready: 4, Refused: 1}) {
		t.Fatalf("%+v, want the other dropped one evicted, then a refusal", c)
	}
}

// TestQueueReadyChan: readyChan is signalled when an entry is queued,
// by add and by the end of a pause.
func TestQueueReadyChan(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	signalled := func() bool {
		select {
		case <-q.readyChan():
			return true
		default:
			return false
		}
	}
	if signalled() {
		t.Fatal("signalled while empty")
	}
	q.add(remotePeer(1, qtopic(1)))
	if !signalled() {
		t.Fatal("add did not signal")
	}
	q.failed(mustNext(t, q).Addr)
	clk.advance(500 * time.Millisecond)
	if signalled() {
		t.Fatal("signalled during the pause")
	}
	clk.advance(time.Second)
	if !signalled() {
		t.Fatal("the end of the pause did not signal")
	}
}

// TestQueueClose: close stops the timers; the queue then ignores
// everything.
func TestQueueClose(t *testing.T) {
	q, clk := testQueue(1, queueConfig{})
	q.add(remotePeer(1, qtopic(1)))
	q.failed(mustNext(t, q).Addr)
	q.close()
	clk.advance(time.Minute)
	q.add(remotePeer(2, qtopic(1)))
	noneReady(t, q)
	if n := q.len(); n != 0 {
		t.Fatalf("%d entries after close", n)
	}
}

// TestQueueInvariants runs random sequences of operations and checks the
// queue's structure after each, that no address is handed out twice
// before it is reported on, and that only peers of topics not left are.
func TestQueueInvariants(t *testing.T) {
	for seed := range uint64(200) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		q, clk := testQueue(seed, queueConfig{max: 16})
		active := map[netip.AddrPort]bool{}
		for op := range 300 {
			queueOp(t, q, clk, rnd, active)
			if err := checkQueue(q, active); err != nil {
				t.Fatalf("seed %d op %d: %v", seed, op, err)
			}
		}
	}
}

func queueOp(t *testing.T, q *peerQueue, clk *fakeClock, rnd *rand.Rand, active map[netip.AddrPort]bool) {
	t.Helper()
	addr := qaddr(rnd.IntN(24))
	actives := slices.Collect(func(yield func(netip.AddrPort) bool) {
		for a := range active {
			if !yield(a) {
				return
			}
		}
	})
	slices.SortFunc(actives, netip.AddrPort.Compare)
	if len(actives) > 0 && rnd.IntN(3) > 0 {
		addr = actives[rnd.IntN(len(actives))]
	}
	switch rnd.IntN(10) {
	case 0, 1:
		f := remotePeer(0, qtopic(rnd.IntN(3)))
		f.Addr, f.Local = addr, rnd.IntN(4) == 0
		if rnd.IntN(4) == 0 {
			f.To = netip.AddrPortFrom(addr.Addr(), 7)
		}
		q.add(f)
	case 2, 3:
		if qp, ok := q.next(); ok {
			if active[qp.Addr] {
				t.Fatalf("%v handed out twice", qp.Addr)
			}
			active[qp.Addr] = true
		}
	case 4:
		q.connected(addr)
	case 5:
		delete(active, addr)
		[]func(netip.AddrPort){q.failed, q.disconnected, q.requeue}[rnd.IntN(3)](addr)
	case 6:
		delete(active, addr)
		q.ban(addr)
	case 7:
		q.unban(addr)
	case 8:
		q.leave(qtopic(rnd.IntN(3)))
	case 9:
		clk.advance(time.Duration(rnd.Int64N(int64(20 * time.Second))))
	}
}

// checkQueue checks the queue's structure against itself and the
// entries the test holds as active.
func checkQueue(q *peerQueue, active map[netip.AddrPort]bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) > q.cfg.max {
		return fmt.Errorf("%d entries, over the cap %d", len(q.entries), q.cfg.max)
	}
	queued, dropped := 0, 0
	for addr, e := range q.entries {
		if e.addr != addr || e.priority < 0 || e.priority >= queuePriorities || e.retries > len(q.cfg.retry) {
			return fmt.Errorf("entry %+v under %v", e, addr)
		}
		if (e.state == stateActive) != active[addr] {
			return fmt.Errorf("%v in state %d, active for the test: %v", addr, e.state, active[addr])
		}
		if e.state != stateActive && len(e.topics) == 0 {
			return fmt.Errorf("%v in state %d has no topic", addr, e.state)
		}
		if timed := e.state == stateWaiting || e.state == stateDropped; timed != (e.timer != nil) {
			return fmt.Errorf("%v in state %d, timer %v", addr, e.state, e.timer)
		}
		switch e.state {
		case stateQueued:
			queued++
			if b := q.ready[e.priority]; e.slot >= len(b) || b[e.slot] != e {
				return fmt.Errorf("%v not in its slot", addr)
			}
		case stateDropped:
			dropped++
		}
	}
	n := 0
	for _, b := range q.ready {
		n += len(b)
	}
	if n != queued || q.dropped.Len() != dropped {
		return fmt.Errorf("%d in the ready lists for %d queued, %d in the dropped list for %d", n, queued, q.dropped.Len(), dropped)
	}
	return nil
}
