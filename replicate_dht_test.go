package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hspd/hsp/rpc"
)

// dhtCLI is a cli whose daemon's swarm listens on 127.0.0.1 and joins the
// DHT through boot.
func dhtCLI(t *testing.T, boot string) *cli {
	t.Helper()
	c := newCLI(t)
	c.env = []string{"HSP_BOOTSTRAP=" + boot}
	c.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", unusedPort(t))
	c.dhtStatus(15*time.Second, func(d map[string]any) bool { return d["bootstrapped"] == true })
	return c
}

// announce has c's daemon announce the core's topic (configure, as an
// app would, remembered so that it outlives this client's session;
// `hsp seed` also downloads).
func (c *cli) announce(key string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := rpc.Dial(ctx, filepath.Join(c.home, "hsp.sock"))
	must(c.t, err)
	defer client.Close()
	info := jsonOf(c.t, c.ok("--json", "info", key))["cores"].([]any)[0].(map[string]any)
	raw, err := hex.DecodeString(info["discoveryKey"].(string))
	must(c.t, err)
	var dk rpc.DiscoveryKey
	copy(dk[:], raw)
	must(c.t, client.Configure(ctx, dk, rpc.ConfigureOptions{Announce: true, Remember: true}))
	deadline := time.Now().Add(15 * time.Second)
	for {
		ts, err := client.TopicStatus(ctx, dk)
		must(c.t, err)
		if ts.Rounds > 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the announce of %s did not finish: %+v", key, ts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCLIReplicateByKey: B downloads A's core by its key alone, through a
// local DHT whose bootstrap is `hsp dht`, then a JS @hyperswarm/dht node.
func TestCLIReplicateByKey(t *testing.T) {
	for name, boot := range map[string]func(*testing.T) string{
		"hsp-dht": func(t *testing.T) string { return startDHT(t, nil, "--json").addr },
		"js-dht":  startJSDHTSeed,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seed := boot(t)
			a := dhtCLI(t, seed)
			key := strings.TrimSpace(a.ok("create"))
			data := randomFile(t, 2000<<10)
			a.appendFile(key, data)
			a.announce(key)

			b := dhtCLI(t, seed)
			r := b.run(nil, "--json", "replicate", key)
			if r.code != 0 {
				t.Fatalf("replicate by key: exit %d\n%s", r.code, r.stderr)
			}
			done := lastRecord(t, r.stdout, "done")
			if done["have"] != 2000.0 {
				t.Fatalf("done record: %v", done)
			}
			b.catEquals(key, data)
			if out := a.ok("status"); !strings.Contains(out, " announced, 0 peers found in 1 round") {
				t.Fatalf("A's status text:\n%s", out)
			}
			st := jsonOf(t, b.ok("--json", "status"))["network"].(map[string]any)
			if conns, _ := st["connections"].(map[string]any); conns["tcp"] == nil && conns["utp"] == nil {
				t.Fatalf("B's connections by transport: %v", st)
			}

			// A core nobody announced: exit 7 once a lookup found no one.
			other := strings.TrimSpace(b.ok("create"))
			c := dhtCLI(t, seed)
			c.fails(7, "no peer of core "+other+" found through the DHT", "replicate", other)
		})
	}
}

// TestCLITenDaemons: ten daemons on one machine share 20 cores, two made
// by each and announced; each daemon downloads, by key alone and at
// once, the five cores after its own. Every download completes, every
// core is equal to its source, and no two connections join the same pair
// of daemons.
func TestCLITenDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("ten daemons: skipped with -short")
	}
	seed := startDHT(t, nil, "--json").addr
	const daemons, perDaemon, wants = 10, 2, 5
	cs := make([]*cli, daemons)
	type owned struct{ key, data string }
	var cores []owned
	for i := range cs {
		cs[i] = dhtCLI(t, seed)
		for range perDaemon {
			key := strings.TrimSpace(cs[i].ok("create"))
			data := randomFile(t, 256<<10)
			cs[i].appendFile(key, data)
			cs[i].announce(key)
			cores = append(cores, owned{key, data})
		}
	}
	errs := make(chan error, daemons*wants)
	for i, c := range cs {
		for j := range wants {
			want := cores[(perDaemon*(i+1)+j)%len(cores)]
			go func() {
				r := c.run(nil, "--json", "replicate", "--timeout", "60s", want.key)
				if r.code != 0 {
					errs <- fmt.Errorf("daemon %d, core %s: exit %d: %s", i, want.key[:8], r.code, r.stderr)
					return
				}
				errs <- nil
			}()
		}
	}
	for range daemons * wants {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	for i, c := range cs {
		for j := range wants {
			want := cores[(perDaemon*(i+1)+j)%len(cores)]
			c.catEquals(want.key, want.data)
		}
		peers := jsonOf(t, c.ok("--json", "peers"))["peers"].([]any)
		seen := map[string]bool{}
		for _, p := range peers {
			k := p.(map[string]any)["remotePublicKey"].(string)
			if seen[k] {
				t.Errorf("daemon %d has two connections to %s", i, k[:8])
			}
			seen[k] = true
		}
		st := jsonOf(t, c.ok("--json", "status"))
		t.Logf("daemon %d: %d connections %v, rss %s", i, len(peers), st["network"].(map[string]any)["connections"], rssOf(t, int(st["pid"].(float64))))
	}
}

// rssOf reads a process's resident set size from /proc.
func rssOf(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.Join(strings.Fields(line)[1:], " ")
		}
	}
	return "?"
}
