//go:build unix

package dht

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkLookup: lookups one at a time from a fresh ephemeral node, hsp
// and JS side by side, on a local network of 50 persistent Go nodes
// holding 200 announced topics. All the nodes are Go so that every
// datagram a JS looker sends lands on a node that counts it (testNode's
// watch); hsp's are counted by its own testNode.sent. Both lookers run
// with the defaults (16 wide, 50 requests a second), as JS does.
//
// Each lookup must find its owner. ns/op is the latency of one lookup;
// the JS figure includes the stdin/stdout JSON round trip to node.js,
// reported alone as ms-stdio.
// The -third-silent runs mute 16 of the 49 nodes other than the
// bootstrap; hsp's lookups must then still end within its 10 s walk
// bound, JS's (dht-rpc has no such bound) within a minute. Those lookups
// take seconds each (2.25 s for hsp, 7.5 s for JS: back to back, each
// starts just after the 750 ms tick that ended the previous one), so
// they take fewer iterations; a fixed count gives hsp and JS the same
// topics. Peers records live 8–16 minutes: keep each run shorter.
//
//	go test ./swarm/dht -run '^$' -bench 'BenchmarkLookup/(hsp|js)$' -benchtime 1000x -count 5
//	go test ./swarm/dht -run '^$' -bench 'BenchmarkLookup/.*-third-silent' -benchtime 5x -count 5
func BenchmarkLookup(b *testing.B) {
	if testing.Short() {
		b.Skip("lookup benchmark skipped in -short mode")
	}
	requireJS(b)
	const size, pool = 50, 200
	nodes, boot := benchNetwork(b, size)
	topics, owners := benchAnnounce(b, nodes, pool)

	healthy := 20 * time.Second // a sanity bound: healthy lookups take milliseconds
	b.Run("hsp", func(b *testing.B) { benchGoLookups(b, nodes, boot, topics, owners, healthy) })
	b.Run("js", func(b *testing.B) { benchJSLookups(b, nodes, boot, topics, owners, healthy) })

	for _, n := range nodes[1 : 1+(size-1)/3] {
		n.muted.Store(true)
	}
	bound := DefaultTiming().QueryTimeout + 1500*time.Millisecond // as TestLargeNetwork
	b.Run("hsp-third-silent", func(b *testing.B) { benchGoLookups(b, nodes, boot, topics, owners, bound) })
	b.Run("js-third-silent", func(b *testing.B) { benchJSLookups(b, nodes, boot, topics, owners, time.Minute) })
}

// benchNetwork is buildNetwork's network whose nodes skip the table
// maintenance of the 5 s tick (every 40 s, ping the 5 least recently seen
// nodes and drop those that fail), so that silent nodes stay in their
// tables for the whole run: otherwise the network evicts them over
// minutes and the later runs (JS's, after hsp's) would meet fewer of them.
func benchNetwork(b *testing.B, n int) ([]*testNode, []string) {
	return buildNetwork(b, n, Timing{TableTick: time.Hour})
}

// benchAnnounce announces count random topics, each from a random node,
// all at once.
func benchAnnounce(b *testing.B, nodes []*testNode, count int) ([][32]byte, map[[32]byte]string) {
	topics := make([][32]byte, count)
	owners := map[[32]byte]string{}
	errs := make(chan error, count)
	var wg sync.WaitGroup
	for i := range topics {
		topic, n := randomTopic(), nodes[rand.IntN(len(nodes))]
		topics[i], owners[topic] = topic, n.addr.String()
		wg.Go(func() {
			_, err := n.Announce(ctxT(b, 30*time.Second), topic, PeersOptions{}).Wait()
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(b, err)
	}
	return topics, owners
}

// benchGoLookups bootstraps a fresh ephemeral Go node, then times its
// lookups.
func benchGoLookups(b *testing.B, nodes []*testNode, boot []string, topics [][32]byte, owners map[[32]byte]string, bound time.Duration) {
	fresh := startTestNode(b, Options{Bootstrap: boot})
	must(b, fresh.Bootstrap(ctxT(b, 30*time.Second)))
	// The bootstrap walk, like a lookup, can end with requests to silent
	// nodes still being retried; JS's ends only once they failed. Let them
	// fail before counting.
	settle(fresh)
	before := fresh.sent.Load()
	benchLookups(b, topics, bound, func(topic [32]byte) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*bound)
		defer cancel()
		res, err := fresh.Lookup(ctx, topic, PeersOptions{}).Wait()
		switch {
		case err != nil:
			return err.Error()
		case !hasPeer(res, owners[topic]):
			return "owner " + owners[topic] + " not found"
		}
		return ""
	})
	// A walk stops waiting for a silent node at its first retry, but the
	// request is still retried: count those datagrams too.
	settle(fresh)
	b.ReportMetric(float64(fresh.sent.Load()-before)/float64(b.N), "datagrams/op")
}

// settle waits until n has no request in flight or queued (a request
// ends within 10 ticks, 7.5 s).
func settle(n *testNode) {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := n.Status(); st.Inflight == 0 && st.Pending == 0 {
			return
		}
	}
}

// benchJSLookups starts a fresh ephemeral JS node, then times its lookups
// through node.js's stdin; its datagrams are counted by the Go nodes.
func benchJSLookups(b *testing.B, nodes []*testNode, boot []string, topics [][32]byte, owners map[[32]byte]string, bound time.Duration) {
	j := startJS(b, jsConfig{Bootstrap: boot, Ephemeral: true})
	j.waitEvent("ready", 30*time.Second)
	for _, n := range nodes {
		n.watched.Store(0)
		n.watch.Store(&j.addr)
	}
	defer func() {
		for _, n := range nodes {
			n.watch.Store(nil)
		}
	}()
	benchLookups(b, topics, bound, func(topic [32]byte) string {
		results, done := j.call(map[string]any{"cmd": "lookup", "topic": hexTopic(topic)}, 2*bound)
		switch {
		case done["error"] != nil:
			return fmt.Sprint(done["error"])
		case !jsPeers(results)[owners[topic]]:
			return "owner " + owners[topic] + " not found"
		}
		return ""
	})
	var got int64
	for _, n := range nodes {
		got += n.watched.Load()
	}
	b.ReportMetric(float64(got)/float64(b.N), "datagrams/op")
	// What the stdin/stdout round trip alone costs: the median of 21
	// status commands, which touch no network.
	var rtt []time.Duration
	for range 21 {
		start := time.Now()
		j.call(map[string]any{"cmd": "status"}, 5*time.Second)
		rtt = append(rtt, time.Since(start))
	}
	sort.Slice(rtt, func(i, j int) bool { return rtt[i] < rtt[j] })
	b.ReportMetric(float64(rtt[len(rtt)/2])/float64(time.Millisecond), "ms-stdio")
}

// benchLookups runs b.N lookups one at a time, cycling through topics;
// lookup returns what went wrong, or "". It fails on a failed lookup or
// one slower than bound, and reports the median and 90th percentile
// latency.
func benchLookups(b *testing.B, topics [][32]byte, bound time.Duration, lookup func([32]byte) string) {
	var lat []time.Duration
	i := 0
	for b.Loop() {
		topic := topics[i%len(topics)]
		i++
		start := time.Now()
		fail := lookup(topic)
		d := time.Since(start)
		if fail != "" {
			b.Fatalf("lookup %d of %x: %s", i, topic[:4], fail)
		}
		if d > bound {
			b.Fatalf("lookup %d of %x took %v, over %v", i, topic[:4], d, bound)
		}
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		k := max(int(math.Ceil(p*float64(len(lat))))-1, 0) // nearest rank
		return float64(lat[k]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.5), "ms-p50/op")
	b.ReportMetric(pct(0.9), "ms-p90/op")
}
