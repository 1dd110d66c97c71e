package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm/dht"
)

// stopBound bounds `hsp daemon stop` with topics announced, from its exec
// until the daemon process is gone: the swarm unannounces every topic at
// once within 2 s (swarm.TopicTiming.Unannounce), JS Hyperspace may take
// 10 s.
const stopBound = 5 * time.Second

// stopTopics is how many topics the daemon announces before its stop.
const stopTopics = 100

// TestCLIDaemonStopWithTopics: a daemon announces 100 cores' topics on a
// local DHT of three `hsp dht` nodes, a lookup from another node finds
// every one, then `hsp daemon stop` returns, and the daemon process is
// gone, within stopBound. The unannounces are best effort within it: some
// must reach the DHT nodes, and a DHT node that served one of a topic no
// longer gives the daemon out for that topic.
//
// "session": the configuring client stays connected through the stop (a
// configuration lasts as long as its session); "remembered": Remember
// keeps the configuration, and the client is gone before the stop.
func TestCLIDaemonStopWithTopics(t *testing.T) {
	for _, remember := range []bool{false, true} {
		name := map[bool]string{false: "session", true: "remembered"}[remember]
		t.Run(name, func(t *testing.T) { testStopWithTopics(t, remember) })
	}
}

func testStopWithTopics(t *testing.T, remember bool) {
	// Three persistent nodes: a seed and two that join through it.
	seed := startDHT(t, nil, "--json")
	nodes := []*dhtProc{seed, startDHT(t, nil, "--json", "--bootstrap", seed.addr), startDHT(t, nil, "--json", "--bootstrap", seed.addr)}
	for _, n := range nodes[1:] {
		n.await("bootstrapped", nil)
		seed.await("nodes", joinedBy(n.id))
	}

	c := dhtCLI(t, seed.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	client, err := rpc.Dial(ctx, filepath.Join(c.home, "hsp.sock"))
	must(t, err)
	defer client.Close()
	topics := map[string]bool{} // hex discovery keys
	var dks []rpc.DiscoveryKey
	for range stopTopics {
		rc, err := client.Open(ctx, rpc.OpenRequest{New: true})
		must(t, err)
		dk := rc.DiscoveryKey()
		rc.Close()
		must(t, client.Configure(ctx, dk, rpc.ConfigureOptions{Announce: true, Lookup: true, Remember: remember}))
		dks = append(dks, dk)
		topics[dk.String()] = true
	}

	// Every topic joined, its first announce round over.
	var network map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		network = jsonOf(t, c.ok("--json", "status"))["network"].(map[string]any)
		joined, _ := network["joined"].([]any)
		announced := 0
		for _, j := range joined {
			j := j.(map[string]any)
			if topics[j["discoveryKey"].(string)] && j["announce"] == true && j["lookup"] == true && j["rounds"].(float64) >= 1 {
				announced++
			}
		}
		if len(joined) == stopTopics && announced == stopTopics {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d topics joined, %d of ours announced after 30 s\n%s", len(joined), announced, c.logTail())
		}
	}
	daemonAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(network["port"].(float64)))

	// A node of the DHT that is not the daemon finds the daemon under
	// every topic.
	look, err := dht.Listen("127.0.0.1:0", dht.Options{Bootstrap: []string{seed.addr}})
	must(t, err)
	defer look.Close()
	must(t, look.Bootstrap(ctx))
	before := lookupAll(ctx, t, look, dks)
	for _, dk := range dks {
		if len(before[dk.String()][daemonAddr]) == 0 {
			t.Fatalf("a lookup of %s did not find the daemon at %v: %v", dk, daemonAddr, before[dk.String()])
		}
	}
	if remember {
		client.Close() // the configurations outlive the session
		if st := jsonOf(t, c.ok("--json", "status"))["network"].(map[string]any); st["topics"] != float64(stopTopics) {
			t.Fatalf("after the configuring client left, %v topics are joined, want %d (Remember)", st["topics"], stopTopics)
		}
	}

	pid := c.daemonPid()
	if pid <= 0 {
		t.Fatal("no daemon pid in the home's lock")
	}
	start := time.Now()
	r := c.run(nil, "daemon", "stop")
	returned := time.Since(start)
	if r.code != 0 {
		t.Fatalf("hsp daemon stop exited %d after %v\nstdout: %s\nstderr: %s\n%s", r.code, returned, r.stdout, r.stderr, c.logTail())
	}
	for !processGone(pid) && time.Since(start) < 2*stopBound {
		time.Sleep(5 * time.Millisecond)
	}
	gone := time.Since(start)
	t.Logf("%d topics: hsp daemon stop returned in %v, the daemon process was gone after %v", stopTopics, returned.Round(time.Millisecond), gone.Round(time.Millisecond))
	if returned > stopBound || gone > stopBound || !processGone(pid) {
		t.Errorf("hsp daemon stop returned after %v, the daemon was gone after %v (alive: %v): the bound is %v\n%s",
			returned, gone, !processGone(pid), stopBound, c.logTail())
	}

	// Lookups after the stop, then one of a marker topic: each DHT node
	// serves requests in order, so once it printed the marker's lookup it
	// has printed every unannounce the daemon sent it.
	after := lookupAll(ctx, t, look, dks)
	marker := randomTopic()
	raw, _ := hex.DecodeString(marker)
	if _, err := look.Lookup(ctx, [32]byte(raw), dht.PeersOptions{}).Wait(); err != nil {
		t.Fatalf("the marker lookup: %v", err)
	}
	lookAddr := look.LocalAddr().String()
	isMarker := func(rec map[string]any) bool {
		return rec["type"] == "lookup" && rec["topic"] == marker && rec["from"] == lookAddr
	}
	unannounced := map[string]map[string]bool{} // node address → topics it dropped the daemon from
	total, dropped := 0, false
	for _, n := range nodes {
		unannounced[n.addr] = map[string]bool{}
		for _, rec := range dhtRecordsUntil(n, isMarker) {
			switch {
			case rec["type"] == "dropped":
				dropped = true
			case rec["type"] == "unannounce" && topics[rec["topic"].(string)]:
				if rec["from"] != daemonAddr.String() {
					t.Errorf("node %s: an unannounce of %s from %v, not the daemon's %v", n.addr, rec["topic"], rec["from"], daemonAddr)
				}
				unannounced[n.addr][rec["topic"].(string)] = true
				total++
			}
		}
	}
	reached, stillFound := map[string]bool{}, 0
	for addr, ts := range unannounced {
		for tp := range ts {
			reached[tp] = true
		}
		t.Logf("node %s served %d unannounces", addr, len(ts))
	}
	for _, dk := range dks {
		if len(after[dk.String()][daemonAddr]) > 0 {
			stillFound++
		}
		for _, from := range after[dk.String()][daemonAddr] {
			if unannounced[from.String()][dk.String()] {
				t.Errorf("node %v served the unannounce of %s, and still gives out the daemon for it", from, dk)
			}
		}
	}
	t.Logf("after the stop: %d unannounce events on the %d DHT nodes, covering %d of %d topics; %d topics still lead to the daemon",
		total, len(nodes), len(reached), stopTopics, stillFound)
	if dropped {
		t.Logf("an hsp dht dropped events: the counts are low")
	}
	if total == 0 {
		t.Errorf("no DHT node saw an unannounce of the %d topics\n%s", stopTopics, c.logTail())
	}
}

// processGone tells whether pid has exited: no such process, or a zombie
// left for a parent that has not reaped it yet.
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	return len(rest) > 1 && rest[1] == 'Z'
}

// lookupAll looks every topic up at once, and returns by topic, for each
// peer found, the DHT nodes that gave it out.
func lookupAll(ctx context.Context, t *testing.T, n *dht.Node, dks []rpc.DiscoveryKey) map[string]map[netip.AddrPort][]netip.AddrPort {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]map[netip.AddrPort][]netip.AddrPort{}
	errs := make(chan error, len(dks))
	for _, dk := range dks {
		wg.Go(func() {
			res, err := n.Lookup(ctx, dk, dht.PeersOptions{}).Wait()
			if err != nil {
				errs <- err
				return
			}
			by := map[netip.AddrPort][]netip.AddrPort{}
			for _, r := range res {
				for _, p := range r.Peers {
					by[p] = append(by[p], r.Node.Addr)
				}
			}
			mu.Lock()
			out[dk.String()] = by
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("lookup: %v", err)
	}
	return out
}

// dhtRecordsUntil returns d's JSON lines not read yet, up to the first
// that stop accepts (included), within dhtWait.
func dhtRecordsUntil(d *dhtProc, stop func(map[string]any) bool) []map[string]any {
	d.t.Helper()
	var out []map[string]any
	take := func(l string) bool {
		rec := jsonOf(d.t, l)
		out = append(out, rec)
		return stop(rec)
	}
	backlog := d.backlog
	d.backlog = nil
	for i, l := range backlog {
		if take(l) {
			d.backlog = backlog[i+1:]
			return out
		}
	}
	deadline := time.After(dhtWait)
	for {
		select {
		case l := <-d.lines:
			if take(l) {
				return out
			}
		case <-d.exited:
			d.t.Fatalf("hsp dht %s exited (%v) before the awaited line", d.addr, d.err)
		case <-deadline:
			d.t.Fatalf("hsp dht %s did not print the awaited line within %v (%d lines)", d.addr, dhtWait, len(out))
		}
	}
}
