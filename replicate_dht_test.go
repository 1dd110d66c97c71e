package main

import (
	"context"
	"encoding/hex"
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
// app would; `hsp seed` is the networker's).
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
	must(c.t, client.Configure(ctx, dk, rpc.ConfigureOptions{Announce: true}))
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
