package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

var (
	lowKey  = [32]byte{1}
	highKey = [32]byte{2}
)

func TestDedupRule(t *testing.T) {
	tcp := func(client bool) dedupRole { return dedupRole{Transport: TransportTCP, Client: client} }
	utp := func(client bool) dedupRole { return dedupRole{Transport: TransportUTP, Client: client} }
	ptr := func(r dedupRole) *dedupRole { return &r }
	for _, tc := range []struct {
		name          string
		local, remote [32]byte
		other         *dedupRole
		fresh         dedupRole
		want          dedupVerdict
	}{
		{"ourselves", lowKey, lowKey, nil, tcp(true), dedupSelf},
		{"ourselves, with another", highKey, highKey, ptr(tcp(false)), tcp(false), dedupSelf},
		{"alone", lowKey, highKey, nil, tcp(false), dedupKeep},
		{"alone over utp", highKey, lowKey, nil, utp(true), dedupKeep},

		{"lower key, new one ours", lowKey, highKey, ptr(tcp(false)), tcp(true), dedupDropOther},
		{"lower key, new one ours, old ours", lowKey, highKey, ptr(tcp(true)), tcp(true), dedupDropOther},
		{"lower key, new one theirs", lowKey, highKey, ptr(tcp(true)), tcp(false), dedupDropNew},
		{"lower key, both theirs", lowKey, highKey, ptr(tcp(false)), tcp(false), dedupDropNew},
		{"higher key, new one ours", highKey, lowKey, ptr(tcp(false)), tcp(true), dedupDropNew},
		{"higher key, both ours", highKey, lowKey, ptr(tcp(true)), tcp(true), dedupDropNew},
		{"higher key, new one theirs", highKey, lowKey, ptr(tcp(true)), tcp(false), dedupDropOther},
		{"higher key, both theirs", highKey, lowKey, ptr(tcp(false)), tcp(false), dedupDropOther},

		{"utp pair, lower key, new one ours", lowKey, highKey, ptr(utp(false)), utp(true), dedupDropOther},
		{"utp pair, lower key, new one theirs", lowKey, highKey, ptr(utp(true)), utp(false), dedupDropNew},
		{"utp pair, higher key, new one ours", highKey, lowKey, ptr(utp(false)), utp(true), dedupDropNew},
		{"utp pair, higher key, new one theirs", highKey, lowKey, ptr(utp(true)), utp(false), dedupDropOther},

		{"new tcp over utp", lowKey, highKey, ptr(utp(true)), tcp(false), dedupDropOther},
		{"new tcp over utp, higher key", highKey, lowKey, ptr(utp(false)), tcp(true), dedupDropOther},
		{"new utp under tcp", lowKey, highKey, ptr(tcp(false)), utp(true), dedupDropNew},
		{"new utp under tcp, higher key", highKey, lowKey, ptr(tcp(true)), utp(false), dedupDropNew},
	} {
		if got := dedupRule(tc.local, tc.remote, tc.other, tc.fresh); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

// simConn is a connection between ends A and B for the simulation.
type simConn struct {
	transport string
	dialler   byte // 'A' or 'B'
}

// survivorAt applies the rule at one end to conns handshaking in order
// and returns the index of the survivor.
func survivorAt(end byte, local, remote [32]byte, conns []simConn, order []int) int {
	role := func(i int) dedupRole {
		return dedupRole{Transport: conns[i].transport, Client: conns[i].dialler == end}
	}
	survivor := -1
	for _, i := range order {
		if survivor < 0 {
			survivor = i
			continue
		}
		other := role(survivor)
		if dedupRule(local, remote, &other, role(i)) == dedupDropOther {
			survivor = i
		}
	}
	return survivor
}

func lowerDialled(aLow bool) int {
	if aLow {
		return 0
	}
	return 1
}

func anySurvivor(bool) int { return -1 }

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestDedupBothEnds: both ends keep the same connection: of a crossing
// pair, whatever order each end sees the handshakes in, on one transport
// the one the lower key dialled, else the TCP one; of any set, when both
// see the same order (as for dials in one direction, which each end sees
// in the order they were made).
func TestDedupBothEnds(t *testing.T) {
	sets := []struct {
		conns    []simConn
		want     func(aLow bool) int // the survivor's index, -1: any, as long as both agree
		anyOrder bool                // each end may see any order
	}{
		{[]simConn{{TransportTCP, 'A'}, {TransportTCP, 'B'}}, lowerDialled, true},
		{[]simConn{{TransportUTP, 'A'}, {TransportUTP, 'B'}}, lowerDialled, true},
		{[]simConn{{TransportTCP, 'A'}, {TransportUTP, 'B'}}, func(bool) int { return 0 }, true},
		{[]simConn{{TransportUTP, 'A'}, {TransportTCP, 'B'}}, func(bool) int { return 1 }, true},
		{[]simConn{{TransportTCP, 'A'}, {TransportTCP, 'B'}, {TransportUTP, 'A'}}, lowerDialled, true},
		{[]simConn{{TransportTCP, 'A'}, {TransportTCP, 'A'}}, anySurvivor, false},
		{[]simConn{{TransportTCP, 'A'}, {TransportTCP, 'B'}, {TransportTCP, 'B'}}, anySurvivor, false},
		{[]simConn{{TransportUTP, 'B'}, {TransportTCP, 'A'}, {TransportUTP, 'A'}, {TransportTCP, 'B'}}, anySurvivor, false},
	}
	for _, aLow := range []bool{true, false} {
		ka, kb := lowKey, highKey
		if !aLow {
			ka, kb = kb, ka
		}
		for _, set := range sets {
			perms := permutations(len(set.conns))
			for _, atA := range perms {
				for _, atB := range perms {
					if !set.anyOrder && !slices.Equal(atA, atB) {
						continue
					}
					sa := survivorAt('A', ka, kb, set.conns, atA)
					sb := survivorAt('B', kb, ka, set.conns, atB)
					want := set.want(aLow)
					if sa != sb || (want >= 0 && sa != want) {
						t.Errorf("A low %v, conns %v, orders %v at A, %v at B: survivors %d and %d, want %d",
							aLow, set.conns, atA, atB, sa, sb, want)
					}
				}
			}
		}
	}
}

// handlerLog is a Handler that counts its invocations per connection
// and those running, and notes each connection's handshake hash (the
// same at both ends), rejecting every core until its ctx ends.
type handlerLog struct {
	mu      sync.Mutex
	calls   map[uint64]int
	hash    map[uint64]string
	running int
}

func (h *handlerLog) handle(ctx context.Context, st *wire.Stream, c Conn) error {
	h.mu.Lock()
	if h.calls == nil {
		h.calls, h.hash = map[uint64]int{}, map[uint64]string{}
	}
	h.calls[c.ID]++
	h.hash[c.ID] = string(st.HandshakeHash())
	h.running++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.running--
		h.mu.Unlock()
	}()
	return rejectAll(ctx, st, c)
}

func (h *handlerLog) counts(id uint64) (calls, total, running int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.calls {
		total += n
	}
	return h.calls[id], total, h.running
}

func (h *handlerLog) hashOf(id uint64) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hash[id]
}

type dedupEnd struct {
	s *Swarm
	h handlerLog
}

func newDedupEnd(t *testing.T, kp wire.KeyPair, opts Options) *dedupEnd {
	e := &dedupEnd{}
	opts.KeyPair, opts.Handler = kp, e.h.handle
	e.s = newSwarm(t, opts)
	start(t, e.s)
	return e
}

// onlyConn waits until e lists one connection and one handler runs, and
// returns it.
func (e *dedupEnd) onlyConn(t *testing.T) Conn {
	t.Helper()
	var cs []Conn
	eventually(t, "one connection", func() bool {
		cs = e.s.Conns()
		_, _, running := e.h.counts(0)
		return len(cs) == 1 && e.s.admitted() == 1 && running == 1
	})
	return cs[0]
}

// sameConn fails unless ca at a and cb at b are the two ends of one
// connection.
func sameConn(t *testing.T, a, b *dedupEnd, ca, cb Conn) {
	t.Helper()
	ha, hb := a.h.hashOf(ca.ID), b.h.hashOf(cb.ID)
	if ca.Initiator == cb.Initiator || ha == "" || ha != hb {
		t.Fatalf("different connections kept: %d (initiator %v) at A, %d (initiator %v) at B", ca.ID, ca.Initiator, cb.ID, cb.Initiator)
	}
}

// TestDedupCrossingDials: two swarms dial each other at once; both keep
// the same connection, the one the lower key dialled; the duplicate's
// client closed it, and the survivor's handler ran once on each side.
// A handler may also have started on the duplicate, on the side where it
// finished its handshake before the survivor did, as in JS.
func TestDedupCrossingDials(t *testing.T) {
	early := 0
	for i := range 20 {
		kpa, kpb := testKeyPair(t), testKeyPair(t)
		a, b := newDedupEnd(t, kpa, Options{}), newDedupEnd(t, kpb, Options{})
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { _, errA = a.s.Dial(context.Background(), addr(b.s)) })
		wg.Go(func() { _, errB = b.s.Dial(context.Background(), addr(a.s)) })
		wg.Wait()
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, ErrDuplicate) {
				t.Fatalf("round %d: dial: %v", i, err)
			}
		}
		ca, cb := a.onlyConn(t), b.onlyConn(t)
		sameConn(t, a, b, ca, cb)
		if aLow := bytes.Compare(kpa.Public[:], kpb.Public[:]) < 0; ca.Initiator != aLow {
			t.Fatalf("round %d: kept the connection dialled by the higher key (A initiator %v, A low %v)", i, ca.Initiator, aLow)
		}
		if n := a.s.Stats().DuplicatesClosed + b.s.Stats().DuplicatesClosed; n != 1 {
			t.Fatalf("round %d: %d duplicates closed, want 1", i, n)
		}
		for _, side := range []struct {
			e *dedupEnd
			c Conn
		}{{a, ca}, {b, cb}} {
			calls, total, _ := side.e.h.counts(side.c.ID)
			if calls != 1 || total > 2 {
				t.Fatalf("round %d: the survivor's handler ran %d times, %d handlers in all", i, calls, total)
			}
			early += total - 1
		}
		a.s.Close()
		b.s.Close()
	}
	t.Logf("20 crossings: %d handlers started on a duplicate that finished its handshake first", early)
}

// TestDedupSameDirection: a second dial to a connected peer leaves one
// connection: the new one when our key is the lower (the old is closed),
// else the old (the Dial fails with ErrDuplicate).
func TestDedupSameDirection(t *testing.T) {
	for _, aLow := range []bool{true, false} {
		kpa, kpb := orderedKeys(t, aLow)
		a, b := newDedupEnd(t, kpa, Options{}), newDedupEnd(t, kpb, Options{})
		first, err := a.s.Dial(context.Background(), addr(b.s))
		must(t, err)
		// B must have finished its side of the first handshake before the
		// second: each side ranks the two by when its own handshake ended,
		// so a B that finished the second first would keep the other one
		// (JS Hyperswarm 2 applies the same rule, with the same race).
		b.onlyConn(t)
		second, err := a.s.Dial(context.Background(), addr(b.s))
		switch {
		case aLow && err != nil:
			t.Fatalf("A low: the second dial: %v", err)
		case !aLow && !errors.Is(err, ErrDuplicate):
			t.Fatalf("A high: the second dial gave %v, want ErrDuplicate", err)
		}
		ca, cb := a.onlyConn(t), b.onlyConn(t)
		sameConn(t, a, b, ca, cb)
		if want := map[bool]uint64{true: second.ID, false: first.ID}[aLow]; ca.ID != want {
			t.Fatalf("A low %v: kept connection %d, want %d", aLow, ca.ID, want)
		}
		if st := a.s.Stats(); st.DuplicatesClosed != 1 {
			t.Fatalf("A low %v: %d duplicates closed at A, want 1", aLow, st.DuplicatesClosed)
		}
	}
}

// orderedKeys returns two key pairs, the first's public key the lower
// when firstLow.
func orderedKeys(t *testing.T, firstLow bool) (wire.KeyPair, wire.KeyPair) {
	a, b := testKeyPair(t), testKeyPair(t)
	if (bytes.Compare(a.Public[:], b.Public[:]) < 0) != firstLow {
		a, b = b, a
	}
	return a, b
}

// rawClient handshakes with s as the initiator with key pair kp and does
// nothing more, as a client that ignores the rule.
func rawClient(t *testing.T, s *Swarm, kp wire.KeyPair) *wire.Stream {
	t.Helper()
	st := wire.NewStream(rawDial(t, s), wire.Config{Initiator: true, KeyPair: kp})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	must(t, st.Handshake(ctx))
	return st
}

// waitEnd waits for the remote to end st and returns how long that took.
func waitEnd(t *testing.T, st *wire.Stream) time.Duration {
	t.Helper()
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for {
		if _, err := st.Recv(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the swarm did not close the duplicate")
			}
			return time.Since(begin)
		}
	}
}

const holdBound = 300 * time.Millisecond

// TestDuplicateHeldBounded: a duplicate we are the server of whose client
// never closes it runs no handler and is closed HandshakeTimeout later.
func TestDuplicateHeldBounded(t *testing.T) {
	kpa, kpb := orderedKeys(t, true) // at A a new connection B dialled loses
	a := newDedupEnd(t, kpa, Options{HandshakeTimeout: holdBound})
	b := newDedupEnd(t, kpb, Options{})
	_, err := b.s.Dial(context.Background(), addr(a.s))
	must(t, err)
	kept := a.onlyConn(t)

	took := waitEnd(t, rawClient(t, a.s, kpb))
	if took < holdBound*9/10 {
		t.Fatalf("the held duplicate was closed after %v, before HandshakeTimeout %v", took, holdBound)
	}
	if c := a.onlyConn(t); c != kept {
		t.Fatalf("A keeps %+v, want %+v", c, kept)
	}
	if _, total, _ := a.h.counts(0); total != 1 {
		t.Fatalf("%d handlers ran at A, want 1", total)
	}
	if st := a.s.Stats(); st.DuplicatesClosed != 1 {
		t.Fatalf("%d duplicates closed at A, want 1", st.DuplicatesClosed)
	}
	sameConn(t, a, b, kept, b.onlyConn(t))
}

// TestDuplicateHeldEndsWithSurvivor: a held duplicate is closed as soon as
// the connection it lost to ends, not HandshakeTimeout later: when the two
// sides ranked the pair apart, its client uses it, and must dial again.
func TestDuplicateHeldEndsWithSurvivor(t *testing.T) {
	kpa, kpb := orderedKeys(t, true) // at A a new connection B dialled loses
	a := newDedupEnd(t, kpa, Options{HandshakeTimeout: 2 * waitLong})
	b := newDedupEnd(t, kpb, Options{})
	_, err := b.s.Dial(context.Background(), addr(a.s))
	must(t, err)
	a.onlyConn(t)
	raw := rawClient(t, a.s, kpb)
	eventually(t, "A holds the raw client's connection as a duplicate", func() bool { return a.s.duplicates() == 1 })

	must(t, b.s.Close()) // the survivor ends
	took := waitEnd(t, raw)
	if took > waitLong/2 {
		t.Fatalf("the held duplicate was closed %v after its survivor ended", took)
	}
	t.Logf("closed %v after the survivor", took)
	if _, total, _ := a.h.counts(0); total != 1 {
		t.Fatalf("%d handlers ran at A, want 1", total)
	}
	if st := a.s.Stats(); st.DuplicatesClosed != 1 {
		t.Fatalf("%d duplicates closed at A, want 1", st.DuplicatesClosed)
	}
}

// TestDuplicateLiveBounded: a live connection we are the server of that
// becomes the duplicate (a later one wins) keeps its handler until its
// client closes it, which this one never does: it is closed
// HandshakeTimeout later.
func TestDuplicateLiveBounded(t *testing.T) {
	kpa, kpb := orderedKeys(t, false) // at A a new connection B dialled wins
	a := newDedupEnd(t, kpa, Options{HandshakeTimeout: holdBound})
	b := newDedupEnd(t, kpb, Options{})
	old, err := b.s.Dial(context.Background(), addr(a.s))
	must(t, err)
	a.onlyConn(t)

	begin := time.Now()
	raw := rawClient(t, a.s, kpb)
	eventually(t, "B's connection closed by A", func() bool { return len(b.s.Conns()) == 0 })
	if took := time.Since(begin); took < holdBound*9/10 {
		t.Fatalf("the live duplicate was closed after %v, before HandshakeTimeout %v", took, holdBound)
	}
	c := a.onlyConn(t)
	if c.ID == old.ID || c.Initiator {
		t.Fatalf("A keeps %+v, want the raw client's", c)
	}
	if st := a.s.Stats(); st.DuplicatesClosed != 1 {
		t.Fatalf("%d duplicates closed at A, want 1", st.DuplicatesClosed)
	}
	raw.Close()
}

// TestDialOurselves: a dial that reaches our own swarm fails with ErrSelf;
// both ends are closed, no handler runs.
func TestDialOurselves(t *testing.T) {
	a := newDedupEnd(t, testKeyPair(t), Options{})
	_, err := a.s.Dial(context.Background(), addr(a.s))
	if !errors.Is(err, ErrSelf) {
		t.Fatalf("dial ourselves: %v, want ErrSelf", err)
	}
	eventually(t, "both ends closed", func() bool { return a.s.admitted() == 0 })
	if _, total, _ := a.h.counts(0); total != 0 || len(a.s.Conns()) != 0 {
		t.Fatalf("%d handlers ran, conns %v", total, a.s.Conns())
	}
	if st := a.s.Stats(); st.DuplicatesClosed != 2 {
		t.Fatalf("%d closed, want both ends", st.DuplicatesClosed)
	}
	t.Log(err)
}

func (c simConn) String() string { return fmt.Sprintf("%s by %c", c.transport, c.dialler) }
