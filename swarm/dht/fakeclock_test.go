package dht

import (
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock runs timers when Advance moves time past them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time forward by d, running due timers in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t.stopped })
		slices.SortStableFunc(c.timers, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.stopped = true
		c.now = t.at
		c.mu.Unlock()
		t.f()
	}
}

// wireNode is a node with a fake clock whose datagrams are captured.
type wireNode struct {
	*Node
	clock *fakeClock
	mu    sync.Mutex
	sent  []packet
}

func newWireNode(t testing.TB, opts Options) *wireNode {
	w := &wireNode{clock: newFakeClock()}
	opts.Clock = w.clock
	w.Node = New(func(b []byte, to netip.AddrPort) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.sent = append(w.sent, packet{append([]byte(nil), b...), to})
		return nil
	}, opts)
	t.Cleanup(func() { w.Close() })
	return w
}

// take returns and forgets the captured datagrams.
func (w *wireNode) take() []packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.sent
	w.sent = nil
	return out
}

// exchange feeds m from `from` and returns the decoded replies.
func (w *wireNode) exchange(t testing.TB, m *Message, from netip.AddrPort) []*Message {
	t.Helper()
	w.take()
	w.HandleDatagramFrom(m.Encode(), from)
	var out []*Message
	for _, p := range w.take() {
		r, err := DecodeMessage(p.b)
		if err != nil {
			t.Fatalf("node sent undecodable %x: %v", p.b, err)
		}
		out = append(out, r)
	}
	return out
}
