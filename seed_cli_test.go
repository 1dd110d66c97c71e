package main

import (
	"context"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm/dht"
)

// restart stops c's daemon and starts it again on the swarm host of
// dhtCLI, waiting for its DHT node to bootstrap.
func (c *cli) restart() {
	c.t.Helper()
	c.ok("daemon", "stop")
	c.ok("daemon", "start", "--swarm-host", "127.0.0.1")
	c.dhtStatus(15*time.Second, func(d map[string]any) bool { return d["bootstrapped"] == true })
}

// coreInfo is `hsp info KEY --json`'s one core.
func (c *cli) coreInfo(key string) map[string]any {
	c.t.Helper()
	return jsonOf(c.t, c.ok("--json", "info", key))["cores"].([]any)[0].(map[string]any)
}

// topicOf is the status --json entry of a joined topic, nil if none.
func (c *cli) topicOf(dk string) map[string]any {
	c.t.Helper()
	joined, _ := jsonOf(c.t, c.ok("--json", "status"))["network"].(map[string]any)["joined"].([]any)
	for _, j := range joined {
		if m := j.(map[string]any); m["discoveryKey"] == dk {
			return m
		}
	}
	return nil
}

// TestCLISeed: A seeds a core; B finds and downloads it by key alone; A
// restarts and a fresh B still gets it (the seed is remembered); after
// unseed and another restart A is gone from the topic on the DHT; and a
// get of a block nobody has fails with exit 7 once the swarm flushed.
func TestCLISeed(t *testing.T) {
	boot := startDHT(t, nil, "--json").addr
	a := dhtCLI(t, boot)
	key := strings.TrimSpace(a.ok("create"))
	data := randomFile(t, 512<<10)
	a.appendFile(key, data)
	if out := a.ok("seed", key); out != "seeding "+key+"\n" {
		t.Fatalf("hsp seed printed %q", out)
	}
	info := a.coreInfo(key)
	dk := info["discoveryKey"].(string)
	if info["seeding"] != true || !strings.Contains(a.ok("info", key), "0 connected · seeding") {
		t.Fatalf("A's info after seed: %v", info)
	}
	if ls := a.ok("ls"); !strings.Contains(ls, "SEEDING") || !strings.Contains(ls, " yes ") {
		t.Fatalf("A's ls after seed:\n%s", ls)
	}
	waitTopic(t, a, dk)

	b := dhtCLI(t, boot)
	if r := b.run(nil, "replicate", key); r.code != 0 {
		t.Fatalf("B's replicate by key: exit %d\n%s", r.code, r.stderr)
	}
	b.catEquals(key, data)
	if up := a.coreInfo(key)["uploadedBytes"].(float64); up < 512<<10 {
		t.Fatalf("A uploaded %v bytes of the core, want all 512 KiB", up)
	}

	// D downloads the first blocks only, for the get at the end.
	d := dhtCLI(t, boot)
	if r := d.run(nil, "replicate", "--end", "3", key); r.code != 0 {
		t.Fatalf("D's partial replicate: exit %d\n%s", r.code, r.stderr)
	}

	a.restart()
	if ts := waitTopic(t, a, dk); ts["remember"] != true || ts["announce"] != true || ts["lookup"] != true {
		t.Fatalf("A's seeded topic after the restart: %v", ts)
	}
	if a.coreInfo(key)["seeding"] != true {
		t.Fatal("A does not seed the core after a restart")
	}
	// A get of blocks D lacks finds A through the DHT by itself.
	if got, want := d.ok("--json", "cat", "--start", "3", "--end", "6", key), a.ok("--json", "cat", "--start", "3", "--end", "6", key); got != want {
		t.Fatalf("D's cat of blocks it lacked: %q, want A's %q", got, want)
	}
	b2 := dhtCLI(t, boot)
	if r := b2.run(nil, "replicate", key); r.code != 0 {
		t.Fatalf("a fresh B's replicate after A restarted: exit %d\n%s\n%s", r.code, r.stderr, a.logTail())
	}
	b2.catEquals(key, data)

	if out := a.ok("unseed", key); out != "no longer seeding "+key+"\n" {
		t.Fatalf("hsp unseed printed %q", out)
	}
	a.restart()
	if ts := a.topicOf(dk); ts != nil {
		t.Fatalf("A joined the unseeded topic after a restart: %v", ts)
	}
	if a.coreInfo(key)["seeding"] != false {
		t.Fatal("A still seeds after unseed and a restart")
	}
	a.catEquals(key, data) // the data stays
	if found := lookupPeers(t, boot, dk); len(found) != 0 {
		t.Fatalf("the topic still lists %v after unseed and a restart", found)
	}

	// Nobody that has the core runs any more: D's get fails, not waits.
	for _, c := range []*cli{a, b, b2} {
		c.ok("daemon", "stop")
	}
	start := time.Now()
	r := d.fails(7, "no peer has it", "cat", "--start", "7", "--end", "8", key)
	t.Logf("a get of a block nobody has failed after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
}

// waitTopic waits until c's daemon has announced dk once.
func waitTopic(t *testing.T, c *cli, dk string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ts := c.topicOf(dk); ts != nil && ts["rounds"].(float64) >= 1 {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not announced within 15 s\n%s", dk, c.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lookupPeers looks dk up from a DHT node of its own, not a daemon's.
func lookupPeers(t *testing.T, boot, dk string) []netip.AddrPort {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := dht.Listen("127.0.0.1:0", dht.Options{Bootstrap: []string{boot}})
	must(t, err)
	defer n.Close()
	must(t, n.Bootstrap(ctx))
	raw, err := hex.DecodeString(dk)
	must(t, err)
	var topic rpc.DiscoveryKey
	copy(topic[:], raw)
	res, err := n.Lookup(ctx, topic, dht.PeersOptions{}).Wait()
	must(t, err)
	var out []netip.AddrPort
	for _, r := range res {
		out = append(out, r.Peers...)
	}
	return out
}
