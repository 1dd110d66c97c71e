package swarm

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"
)

// memMemory is a Memory in a map, counting writes; fail makes its writes
// fail.
type memMemory struct {
	mu     sync.Mutex
	m      map[[32]byte]JoinOptions
	writes int
	fail   error
}

func newMemMemory() *memMemory { return &memMemory{m: map[[32]byte]JoinOptions{}} }

func (m *memMemory) Load(ctx context.Context) ([]Remembered, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Remembered
	for k, o := range m.m {
		out = append(out, Remembered{Topic: k, JoinOptions: o})
	}
	return out, nil
}

func (m *memMemory) Remember(ctx context.Context, t [32]byte, o JoinOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	m.m[t] = o
	return nil
}

func (m *memMemory) Forget(ctx context.Context, t [32]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	delete(m.m, t)
	return nil
}

func (m *memMemory) get(t [32]byte) (JoinOptions, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.m[t]
	return o, ok
}

func joinedAs(s *Swarm, tp [32]byte) (JoinOptions, bool) {
	for _, st := range s.Topics() {
		if st.Topic == tp {
			return st.JoinOptions, true
		}
	}
	return JoinOptions{}, false
}

func randomTopic() [32]byte {
	var tp [32]byte
	rand.Read(tp[:])
	return tp
}

// TestNetworkerORAcrossOwners: two owners configure a topic differently;
// the swarm joins it for the OR; as each is released the flags shrink,
// and with both gone the remembered configuration (or nothing) stays.
func TestNetworkerORAcrossOwners(t *testing.T) {
	ctx := context.Background()
	boot := dhtSeed(t)
	s := topicSwarm(t, boot, TopicTiming{})
	mem := newMemMemory()
	n := NewNetworker(s, mem)
	tp, other := randomTopic(), randomTopic()

	must(t, n.Configure(ctx, 1, tp, Config{JoinOptions: JoinOptions{Announce: true}}))
	must(t, n.Configure(ctx, 2, tp, Config{JoinOptions: JoinOptions{Lookup: true}}))
	if got, _ := joinedAs(s, tp); got != (JoinOptions{Announce: true, Lookup: true}) {
		t.Fatalf("joined as %+v, want the OR", got)
	}
	if st := n.Status(tp); st.Owners != 2 || st.Remembered != nil {
		t.Fatalf("status %+v", st)
	}
	must(t, n.Release(ctx, 1))
	if got, _ := joinedAs(s, tp); got != (JoinOptions{Lookup: true}) {
		t.Fatalf("after owner 1 went: %+v", got)
	}
	must(t, n.Release(ctx, 2))
	if _, ok := joinedAs(s, tp); ok {
		t.Fatal("still joined with both owners gone and nothing remembered")
	}

	// Remembered: stays when its owner goes, comes back in a new networker.
	must(t, n.Configure(ctx, 3, other, Config{JoinOptions: JoinOptions{Lookup: true}, Remember: true}))
	must(t, n.Configure(ctx, 4, other, Config{JoinOptions: JoinOptions{Announce: true}}))
	must(t, n.Release(ctx, 4))
	must(t, n.Release(ctx, 3))
	if got, _ := joinedAs(s, other); got != (JoinOptions{Lookup: true}) {
		t.Fatalf("remembered topic joined as %+v, want lookup only", got)
	}
	if o, ok := mem.get(other); !ok || o != (JoinOptions{Lookup: true}) {
		t.Fatalf("memory holds %+v %v", o, ok)
	}
	s2 := topicSwarm(t, boot, TopicTiming{})
	n2 := NewNetworker(s2, mem)
	if k, err := n2.Rejoin(ctx); err != nil || k != 1 {
		t.Fatalf("rejoin: %d, %v", k, err)
	}
	if got, _ := joinedAs(s2, other); got != (JoinOptions{Lookup: true}) {
		t.Fatalf("rejoined as %+v, want lookup only (lookup-only topics rejoin too)", got)
	}

	// A leave forgets for real, remember or not.
	must(t, n.Configure(ctx, 5, other, Config{JoinOptions: JoinOptions{Announce: true}}))
	must(t, n.Configure(ctx, 6, other, Config{}))
	if _, ok := mem.get(other); ok {
		t.Fatal("a leave kept the remembered configuration")
	}
	if got, _ := joinedAs(s, other); got != (JoinOptions{Announce: true}) {
		t.Fatalf("after the forget, joined as %+v; owner 5's announce stays", got)
	}
	must(t, n.Release(ctx, 5))
	if _, ok := joinedAs(s, other); ok {
		t.Fatal("a forgotten topic stayed joined with its owner gone")
	}
}

// TestNetworkerMemoryFailure: a configuration whose remembering fails is
// refused whole, and leaves nothing behind.
func TestNetworkerMemoryFailure(t *testing.T) {
	ctx := context.Background()
	s := topicSwarm(t, dhtSeed(t), TopicTiming{})
	mem := newMemMemory()
	mem.fail = errors.New("disk full")
	n := NewNetworker(s, mem)
	tp := randomTopic()
	err := n.Configure(ctx, 1, tp, Config{JoinOptions: JoinOptions{Announce: true}, Remember: true})
	if err == nil || !errors.Is(err, mem.fail) {
		t.Fatalf("configure with a failing memory: %v", err)
	}
	if _, ok := joinedAs(s, tp); ok || len(n.Configured()) != 0 {
		t.Fatalf("a refused configuration left %+v", n.Configured())
	}
}

// TestFlush: a flush on a topic waits for its round, then for the peers it
// found to be dialled; B is connected to A once it returns.
func TestFlush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	boot := dhtSeed(t)
	a := topicSwarm(t, boot, TopicTiming{})
	tp := randomTopic()
	must(t, a.Join(tp, JoinOptions{Announce: true}))
	eventually(t, "A's announce round", func() bool { return roundsOf(a, tp) >= 1 })

	b := topicSwarm(t, boot, TopicTiming{})
	n := NewNetworker(b, nil)
	must(t, n.Configure(ctx, 1, tp, Config{JoinOptions: JoinOptions{Lookup: true}}))
	must(t, b.Flush(ctx, tp))
	if roundsOf(b, tp) < 1 {
		t.Fatal("flushed before the first lookup ended")
	}
	if len(b.Conns()) != 1 {
		t.Fatalf("flushed with %d connections, want A's", len(b.Conns()))
	}

	// Nobody under an empty topic: the flush ends with the lookup.
	empty := randomTopic()
	must(t, n.Configure(ctx, 1, empty, Config{JoinOptions: JoinOptions{Lookup: true}}))
	must(t, b.Flush(ctx, empty))
	if roundsOf(b, empty) < 1 {
		t.Fatal("flushed an empty topic before its lookup ended")
	}
	// A topic not joined has nothing to wait for.
	must(t, b.Flush(ctx, randomTopic()))
}
