package dht

import (
	"errors"
	"testing"
	"time"
)

func TestSmokeGoNetwork(t *testing.T) {
	seed := listenT(t, Options{Persistent: true, Timing: fastTiming})
	boot := []string{addrOf(seed).String()}
	var nodes []*Node
	for range 10 {
		n := listenT(t, Options{Persistent: true, Bootstrap: boot, Timing: fastTiming})
		must(t, n.Bootstrap(ctxT(t, 5*time.Second)))
		nodes = append(nodes, n)
	}
	var topic [32]byte
	topic[0] = 7
	a := listenT(t, Options{Bootstrap: boot, Timing: fastTiming})
	must(t, a.Bootstrap(ctxT(t, 5*time.Second)))
	_, err := a.Announce(ctxT(t, 5*time.Second), topic, PeersOptions{}).Wait()
	must(t, err)
	b := listenT(t, Options{Bootstrap: boot, Timing: fastTiming})
	res, err := b.Lookup(ctxT(t, 5*time.Second), topic, PeersOptions{}).Wait()
	must(t, err)
	found := false
	for _, r := range res {
		for _, p := range r.Peers {
			if p == addrOf(a) {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("lookup did not find %v: %+v", addrOf(a), res)
	}
	t.Logf("seed status %+v", seed.Status())
}

// TestUnreachableBootstrap: bootstrapping against nothing fails with
// ErrNoNodes within the request timeout, and the node says so.
func TestUnreachableBootstrap(t *testing.T) {
	dead := listenT(t, Options{})
	addr := addrOf(dead).String()
	dead.Close()
	n := listenT(t, Options{Bootstrap: []string{addr, "127.0.0.1:notaport"}, Timing: fastTiming})
	start := time.Now()
	err := n.Bootstrap(ctxT(t, 5*time.Second))
	if !errors.Is(err, ErrNoNodes) || time.Since(start) > 2*time.Second {
		t.Fatalf("bootstrap against nothing: %v after %v", err, time.Since(start))
	}
	if st := n.Status(); st.Bootstrapped || st.Nodes != 0 {
		t.Fatalf("status %+v", st)
	}
	// A lookup ends the same way; Close ends one in flight at once.
	if _, err := n.Lookup(ctxT(t, 5*time.Second), [32]byte{1}, PeersOptions{}).Wait(); !errors.Is(err, ErrNoNodes) {
		t.Fatalf("lookup: %v", err)
	}
	s := n.Lookup(ctxT(t, 5*time.Second), [32]byte{1}, PeersOptions{})
	time.Sleep(20 * time.Millisecond)
	n.Close()
	select {
	case <-s.Done():
	case <-time.After(time.Second):
		t.Fatal("lookup outlived Close")
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("lookup after close: %v", s.Err())
	}
}

// TestSetPersistent: an ephemeral node stays out of routing tables until
// it turns persistent.
func TestSetPersistent(t *testing.T) {
	seed := listenT(t, Options{Persistent: true, Timing: fastTiming})
	boot := []string{addrOf(seed).String()}
	n := listenT(t, Options{Bootstrap: boot, Timing: fastTiming})
	must(t, n.Bootstrap(ctxT(t, 5*time.Second)))
	if st := seed.Status(); st.Nodes != 0 {
		t.Fatalf("an ephemeral node entered the table: %+v", st)
	}
	must(t, n.SetPersistent(ctxT(t, 5*time.Second)))
	if nodes := seed.Nodes(); len(nodes) != 1 || nodes[0].ID != n.ID() || nodes[0].Addr != addrOf(n) {
		t.Fatalf("seed table %v", nodes)
	}
	m := listenT(t, Options{Timing: fastTiming})
	m.AddNodes(seed.Nodes())
	if got := m.Nodes(); len(got) != 1 || got[0].ID != n.ID() {
		t.Fatalf("restored table %v", got)
	}
}
