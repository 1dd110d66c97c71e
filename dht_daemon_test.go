package main

import (
	"net"
	"strings"
	"testing"
	"time"
)

// startJSDHTSeed runs a persistent JS @hyperswarm/dht 4 node with no
// bootstrap on 127.0.0.1 and returns its address.
func startJSDHTSeed(t *testing.T) string {
	t.Helper()
	return addrOfJS(startJSDHT(t, "node.js", map[string]any{}).await("listening", nil))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dhtStatus polls `status --json` until cond holds of its network.dht.
func (c *cli) dhtStatus(within time.Duration, cond func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := jsonOf(c.t, c.ok("--json", "status"))
		d := st["network"].(map[string]any)["dht"].(map[string]any)
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("dht status after %v: %v", within, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// closedUDP is a 127.0.0.1 UDP address nothing listens on.
func closedUDP(t *testing.T) string {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// TestCLIDaemonDHT: a daemon bootstraps from a JS bootstrap node given by
// $HSP_BOOTSTRAP, and one whose bootstrap (the config setting) never
// answers says so in its status, which still exits 0.
func TestCLIDaemonDHT(t *testing.T) {
	seed := startJSDHTSeed(t)

	a := newCLI(t)
	a.env = []string{"HSP_BOOTSTRAP=" + seed}
	a.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", unusedPort(t))
	d := a.dhtStatus(15*time.Second, func(d map[string]any) bool { return d["bootstrapped"] == true })
	if d["nodes"].(float64) < 1 || d["running"] != true || d["error"] != nil || d["persistent"] != false {
		t.Fatalf("bootstrapped from JS: %v", d)
	}
	if boot := d["bootstrap"].([]any); len(boot) != 1 || boot[0] != seed {
		t.Fatalf("bootstrap list %v, want [%s]", boot, seed)
	}
	if out := a.ok("status"); !strings.Contains(out, "1 node known, bootstrapped through "+seed) {
		t.Fatalf("status text:\n%s", out)
	}

	b := newCLI(t)
	dead := closedUDP(t)
	b.ok("config", "set", "bootstrap", dead)
	b.env = []string{"HSP_BOOTSTRAP="} // an empty variable leaves the setting alone
	b.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", unusedPort(t))
	d = b.dhtStatus(30*time.Second, func(d map[string]any) bool { return d["error"] != nil })
	if d["bootstrapped"] != false || d["nodes"] != 0.0 || !strings.Contains(d["error"].(string), "no bootstrap node answered ("+dead+")") {
		t.Fatalf("unreachable bootstrap: %v", d)
	}
	if out := b.ok("status"); !strings.Contains(out, "no bootstrap node answered") {
		t.Fatalf("status text:\n%s", out)
	}
	b.fails(2, "is not HOST:PORT", "config", "set", "bootstrap", "nohost")
	b.fails(2, "not a port", "daemon", "start", "--bootstrap", "127.0.0.1:0")
}
