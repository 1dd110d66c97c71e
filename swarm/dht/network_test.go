//go:build unix

package dht

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testNode is a node fed through HandleDatagram from its own socket, as a
// demultiplexer would, with a switch that makes it silent and a counter of
// datagrams sent.
type testNode struct {
	*Node
	addr  netip.AddrPort
	muted atomic.Bool
	sent  atomic.Int64
	// watch counts the datagrams received from one address.
	watch   atomic.Pointer[netip.AddrPort]
	watched atomic.Int64
}

func startTestNode(t testing.TB, opts Options) *testNode {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	conn.SetReadBuffer(readBuffer)
	tn := &testNode{addr: conn.LocalAddr().(*net.UDPAddr).AddrPort()}
	tn.Node = New(func(b []byte, to netip.AddrPort) error {
		if tn.muted.Load() {
			return nil
		}
		tn.sent.Add(1)
		_, err := conn.WriteToUDPAddrPort(b, to)
		return err
	}, opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			k, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if w := tn.watch.Load(); w != nil && from.AddrPort() == *w {
				tn.watched.Add(1)
			}
			tn.HandleDatagram(buf[:k], from)
		}
	}()
	t.Cleanup(func() {
		tn.Close()
		conn.Close()
		<-done
	})
	return tn
}

// TestLargeNetwork: 45 Go nodes and 5 JS nodes. 210 topics announced at
// once (200 by Go nodes, 10 by JS nodes) are all found from a fresh node;
// then, with a third of the Go nodes silent, lookups still finish within
// the 10 s walk bound and find their peers.
func TestLargeNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("large network test skipped in -short mode")
	}
	requireJS(t)
	goNodes, boot := buildNetwork(t, 45, Timing{})
	var js []*jsNode
	for range 5 {
		js = append(js, startJS(t, jsConfig{Bootstrap: boot}))
	}
	for _, j := range js {
		j.waitEvent("ready", 15*time.Second)
	}
	topics, owners := announceAll(t, goNodes, js)

	fresh := startTestNode(t, Options{Bootstrap: boot, RPS: 5000})
	must(t, fresh.Bootstrap(ctxT(t, 10*time.Second)))
	before := fresh.sent.Load()
	lat := lookupAll(t, fresh, topics, owners, 16, 15*time.Second)
	t.Logf("fresh node: %d lookups, %.1f datagrams sent per lookup, latency p50 %v max %v",
		len(topics), float64(fresh.sent.Load()-before)/float64(len(topics)), lat[len(lat)/2], lat[len(lat)-1])

	before = fresh.sent.Load()
	lat = lookupAll(t, fresh, topics[:20], owners, 1, 15*time.Second)
	t.Logf("fresh node: 20 lookups one at a time, %.1f datagrams sent per lookup, latency p50 %v max %v",
		float64(fresh.sent.Load()-before)/20, lat[len(lat)/2], lat[len(lat)-1])
	compareJSLookups(t, goNodes, boot, topics, owners)

	for _, n := range goNodes[1:16] {
		n.muted.Store(true)
	}
	fresh2 := startTestNode(t, Options{Bootstrap: boot, RPS: 5000})
	must(t, fresh2.Bootstrap(ctxT(t, 15*time.Second)))
	bound := DefaultTiming().QueryTimeout + 1500*time.Millisecond
	lat = lookupAll(t, fresh2, topics[:20], owners, 20, bound)
	t.Logf("a third silent: 20 lookups, latency p50 %v max %v (bound %v)", lat[len(lat)/2], lat[len(lat)-1], bound)
}

// buildNetwork starts a Go seed and n-1 persistent Go nodes bootstrapped
// from it, all with timing.
func buildNetwork(t testing.TB, n int, timing Timing) ([]*testNode, []string) {
	seed := startTestNode(t, Options{Persistent: true, Timing: timing})
	must(t, seed.Bootstrap(ctxT(t, time.Second)))
	boot := []string{seed.addr.String()}
	nodes := []*testNode{seed}
	for range n - 1 {
		tn := startTestNode(t, Options{Persistent: true, Bootstrap: boot, Timing: timing})
		must(t, tn.Bootstrap(ctxT(t, 10*time.Second)))
		nodes = append(nodes, tn)
	}
	return nodes, boot
}

// announceAll announces 5 topics from each of 40 Go nodes and 2 from each
// JS node, all at once.
func announceAll(t *testing.T, goNodes []*testNode, js []*jsNode) ([][32]byte, map[[32]byte]string) {
	owners := map[[32]byte]string{}
	var topics [][32]byte
	var wg sync.WaitGroup
	errs := make(chan error, 256)
	for _, n := range goNodes[5:45] {
		for range 5 {
			topic := randomTopic()
			topics, owners[topic] = append(topics, topic), n.addr.String()
			wg.Go(func() {
				_, err := n.Announce(ctxT(t, 30*time.Second), topic, PeersOptions{}).Wait()
				errs <- err
			})
		}
	}
	type pending struct {
		j  *jsNode
		id int
	}
	var jsCalls []pending
	for _, j := range js {
		for range 2 {
			topic := randomTopic()
			topics, owners[topic] = append(topics, topic), j.addr.String()
			jsCalls = append(jsCalls, pending{j, j.send(map[string]any{"cmd": "announce", "topic": hexTopic(topic)})})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	for _, c := range jsCalls {
		if _, done := c.j.wait(c.id, 30*time.Second); done["error"] != nil {
			t.Fatalf("JS announce: %v", done["error"])
		}
	}
	return topics, owners
}

// lookupAll looks every topic up, par at a time, and checks that each
// finds its owner within bound; it returns the sorted latencies.
func lookupAll(t *testing.T, n *testNode, topics [][32]byte, owners map[[32]byte]string, par int, bound time.Duration) []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	var missing []string
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, topic := range topics {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			res, err := n.Lookup(ctxT(t, 2*bound), topic, PeersOptions{}).Wait()
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, d)
			if err != nil || !hasPeer(res, owners[topic]) || d > bound {
				missing = append(missing, hexTopic(topic)[:8]+" "+d.String()+" "+errString(err))
			}
		})
	}
	wg.Wait()
	if len(missing) > 0 {
		t.Fatalf("%d of %d lookups failed, missed their owner or overran %v: %v", len(missing), len(topics), bound, missing)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// compareJSLookups runs 20 lookups from a fresh JS node, one at a time,
// and logs their latency and the datagrams the Go nodes got from it (a
// lower bound of what it sent: 5 of the 50 nodes are JS).
func compareJSLookups(t *testing.T, goNodes []*testNode, boot []string, topics [][32]byte, owners map[[32]byte]string) {
	j := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	j.waitEvent("ready", 15*time.Second)
	for _, n := range goNodes {
		n.watched.Store(0)
		n.watch.Store(&j.addr)
	}
	var lat []time.Duration
	for _, topic := range topics[:20] {
		start := time.Now()
		results, done := j.call(map[string]any{"cmd": "lookup", "topic": hexTopic(topic)}, 20*time.Second)
		lat = append(lat, time.Since(start))
		if done["error"] != nil || !jsPeers(results)[owners[topic]] {
			t.Errorf("JS lookup of %x: %v, found %v, want %s", topic[:4], done["error"], jsPeers(results), owners[topic])
		}
	}
	var got int64
	for _, n := range goNodes {
		got += n.watched.Load()
		n.watch.Store(nil)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("fresh JS node: 20 lookups, >= %.1f datagrams sent per lookup (to Go nodes), latency p50 %v max %v",
		float64(got)/20, lat[len(lat)/2], lat[len(lat)-1])
}
