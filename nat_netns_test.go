package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNAT runs daemons behind NAT routers, each host and router a network
// namespace of its own, meeting through three persistent DHT nodes on a
// "public" segment (a DHT node tells its address only when 3 nodes agree,
// so fewer cannot tell whether a NAT can be holepunched):
//
//	public, ns …-pub: bridge sw, 198.51.100.1-3 (hsp dht :49737 each)
//	                  ├─ ns …-ra: pub 198.51.100.10 │ lan 10.88.1.1 ─ ns …-a: 10.88.1.2 (A)
//	                  └─ ns …-rb: pub 198.51.100.20 │ lan 10.88.2.1 ─ ns …-b: 10.88.2.2 (B)
//
// Each router forwards, masquerades what leaves on pub (nftables) and,
// as a home router's firewall does, drops what comes in on pub for
// itself unasked (see natRules). The daemons run in A's and B's
// namespaces; every other command runs here, through the home's unix
// socket, which no network namespace hides.
func TestNAT(t *testing.T) {
	natRequire(t)
	t.Run("cone", func(t *testing.T) {
		t.Parallel()
		testNATCone(t)
	})
	t.Run("symmetric", func(t *testing.T) {
		t.Parallel()
		testNATSymmetric(t)
	})
}

// testNATCone: A and B behind endpoint-independent NATs (plain
// masquerade keeps the port towards every host) both report holepunchable;
// B replicates A's core by key alone over uTP, through a holepunch that a
// DHT node relays (nothing forwards inbound TCP to A).
func testNATCone(t *testing.T) {
	lab := newNATLab(t, "c")
	lab.router("ra", "a", "10", "1", false)
	lab.router("rb", "b", "20", "2", false)
	lab.startDHTs()
	a := lab.daemon("a", "10.88.1.2", "40001")
	b := lab.daemon("b", "10.88.2.2", "40002")
	for name, c := range map[string]*natHost{"A": a, "B": b} {
		if nw := c.waitAddress(); nw["holepunchable"] != true || nw["holepunchableFrom"] != "dht" {
			t.Fatalf("%s behind plain masquerade: %v", name, nw)
		}
	}
	key, data, seen := a.seedCore(lab)
	if addr := a.network()["remoteAddress"]; countDistinct(seen) != 1 || seen[0] != addr {
		t.Fatalf("the DHT nodes saw A's announce from %v; A says it is at %v", seen, addr)
	}
	begin := time.Now()
	r := b.run(nil, "--json", "replicate", "--timeout", "30s", key)
	if r.code != 0 {
		t.Fatalf("B's replicate through the NATs: exit %d\n%s\n%s", r.code, r.stderr, b.logTail())
	}
	took := time.Since(begin)
	b.catEquals(key, data)
	conns, _ := b.network()["connections"].(map[string]any)
	if conns["utp"] == nil || conns["tcp"] != nil {
		t.Fatalf("B's connections by transport: %v, want uTP only (no TCP gets through A's NAT)", conns)
	}
	relayed := lab.holepunches(seen[0])
	if relayed == 0 {
		t.Fatalf("no DHT node relayed a holepunch to %s", seen[0])
	}
	t.Logf("A at %v, B at %v; replicate over %v took %v; %d holepunch(es) relayed",
		seen[0], b.network()["remoteAddress"], conns, took.Round(time.Millisecond), relayed)
}

// testNATSymmetric: A behind a NAT that maps its port anew for every
// destination (masquerade random) reports holepunchable false, and B
// cannot reach it: replicate exits 7 naming why. Once A has an address on
// the public segment too, B replicates its core.
func testNATSymmetric(t *testing.T) {
	lab := newNATLab(t, "s")
	lab.router("ra", "a", "10", "1", true)
	lab.router("rb", "b", "20", "2", false)
	lab.startDHTs()
	a := lab.daemon("a", "10.88.1.2", "40001")
	b := lab.daemon("b", "10.88.2.2", "40002")
	if nw := a.waitAddress(); nw["holepunchable"] != false || nw["holepunchableFrom"] != nil {
		t.Fatalf("A behind masquerade random: %v", nw)
	}
	if nw := b.waitAddress(); nw["holepunchable"] != true {
		t.Fatalf("B behind plain masquerade: %v", nw)
	}
	key, data, seen := a.seedCore(lab)
	if countDistinct(seen) != len(seen) {
		t.Fatalf("the DHT nodes saw A's announce from %v: masquerade random kept a port for two of them", seen)
	}
	begin := time.Now()
	r := b.fails(7, "dialled: the peer is not reachable through its NAT", "replicate", key)
	if !strings.Contains(r.stderr, "holepunch") || !strings.Contains(r.stderr, "last attempt: ") {
		t.Fatalf("the message does not tell what was tried: %s", r.stderr)
	}
	t.Logf("B gave up after %v: %s", time.Since(begin).Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if conns := b.network()["connections"]; conns != nil {
		t.Fatalf("B connected through a symmetric NAT: %v", conns)
	}

	// A on the public segment too: its daemon, on every interface now,
	// reaches the DHT nodes directly, so it announces an address B reaches.
	lab.link("a", "va", "198.51.100.30")
	a.ok("daemon", "stop")
	lab.startDaemon(a, "--swarm-port", "40001")
	dk := a.coreInfo(key)["discoveryKey"].(string)
	for _, d := range lab.dhts {
		d.await("announce", func(r map[string]any) bool { return r["topic"] == dk && r["from"] == "198.51.100.30:40001" })
	}
	begin = time.Now()
	if r := b.run(nil, "--json", "replicate", "--timeout", "30s", key); r.code != 0 {
		t.Fatalf("B's replicate once A has a public address: exit %d\n%s\n%s", r.code, r.stderr, b.logTail())
	}
	b.catEquals(key, data)
	// A's own status may not say its public address yet: its seed, and
	// B, dial the records of its last run too, and a DHT node relaying a
	// holepunch to one (its mapping still stands) tells A that address as
	// its own, as dht-rpc does; the tally then holds both.
	nw := a.network()
	t.Logf("then B's replicate took %v over %v; A says address %v, holepunchable %v", time.Since(begin).Round(time.Millisecond),
		b.network()["connections"], nw["remoteAddress"], nw["holepunchable"])
}

// natRequire skips the test, saying why, without what it needs: root,
// ip and nft, and a kernel with network namespaces and nftables' NAT.
// Under CI it fails instead.
func natRequire(t *testing.T) {
	t.Helper()
	lack := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the NAT test: "+format, args...)
		}
		t.Skipf("skipped: "+format, args...)
	}
	if os.Getuid() != 0 {
		lack("network namespaces and nftables need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			lack("no %s on the PATH (iproute2, nftables)", tool)
		}
	}
	ns := fmt.Sprintf("hspnat%d-probe", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		lack("the kernel gives no network namespace: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(natRules(true))
	if out, err := nft.CombinedOutput(); err != nil {
		lack("the kernel takes no nftables NAT rules: %v: %s", err, out)
	}
}

// natRules is a router's ruleset. Masquerade keeps a host's port when it
// can, the same towards every destination: an endpoint-independent NAT;
// with random, each new flow gets a random port, so every destination
// sees another one: a symmetric NAT. The input chain drops what comes in
// on pub for the router itself unasked, as a home router's firewall does.
// Without it, B's direct holepunch packet, which reaches A's router
// before A's reply leaves, would stay in conntrack as a flow of its own
// (unreplied, 30 s) that holds A's port towards B, so that masquerade
// would give A's reply another port, one that B's NAT drops.
func natRules(symmetric bool) string {
	masq := "masquerade"
	if symmetric {
		masq += " random"
	}
	return `table ip filter {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "pub" ct state new drop
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "pub" ` + masq + `
	}
}
`
}

// natLab is one test's namespaces and DHT nodes.
type natLab struct {
	t      *testing.T
	prefix string // of the namespaces' names
	dhts   []*dhtProc
}

// natLabs numbers the labs, so that no two share a namespace name.
var natLabs atomic.Int32

// natBoot is the DHT node the others and the daemons bootstrap from.
const natBoot = "198.51.100.1:49737"

// newNATLab makes the public segment: a namespace with a bridge holding
// the DHT nodes' addresses.
func newNATLab(t *testing.T, name string) *natLab {
	l := &natLab{t: t, prefix: fmt.Sprintf("hspnat%d%s%d", os.Getpid(), name, natLabs.Add(1))}
	l.ns("pub")
	l.ip("-n", l.name("pub"), "link", "add", "sw", "type", "bridge")
	l.ip("-n", l.name("pub"), "link", "set", "sw", "up")
	for i := 1; i <= 3; i++ {
		l.ip("-n", l.name("pub"), "addr", "add", fmt.Sprintf("198.51.100.%d/24", i), "dev", "sw")
	}
	return l
}

func (l *natLab) name(ns string) string { return l.prefix + "-" + ns }

// ns adds the namespace, its loopback up, deleted when the test ends.
func (l *natLab) ns(ns string) {
	l.ip("netns", "add", l.name(ns))
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", l.name(ns)).Run() })
	l.ip("-n", l.name(ns), "link", "set", "lo", "up")
}

func (l *natLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// inNS runs a command in namespace ns.
func (l *natLab) inNS(ns string, stdin string, args ...string) {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.name(ns)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("in %s: %v: %v\n%s", ns, args, err, out)
	}
}

// link joins namespace ns to the public segment by a veth pair (dev pub
// in ns, peer on the bridge) and gives it addr there.
func (l *natLab) link(ns, peer, addr string) {
	l.ip("-n", l.name(ns), "link", "add", "pub", "type", "veth", "peer", "name", peer, "netns", l.name("pub"))
	l.ip("-n", l.name("pub"), "link", "set", peer, "master", "sw", "up")
	l.ip("-n", l.name(ns), "addr", "add", addr+"/24", "dev", "pub")
	l.ip("-n", l.name(ns), "link", "set", "pub", "up")
}

// router makes router namespace r, on the public segment at
// 198.51.100.<pub>, and host namespace h behind it on 10.88.<lan>.0/24
// (the router .1, the host .2, its default route).
func (l *natLab) router(r, h, pub, lan string, symmetric bool) {
	l.ns(r)
	l.ns(h)
	l.link(r, "v"+r, "198.51.100."+pub)
	l.ip("-n", l.name(r), "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", l.name(h))
	l.ip("-n", l.name(r), "addr", "add", "10.88."+lan+".1/24", "dev", "lan")
	l.ip("-n", l.name(r), "link", "set", "lan", "up")
	l.ip("-n", l.name(h), "addr", "add", "10.88."+lan+".2/24", "dev", "eth0")
	l.ip("-n", l.name(h), "link", "set", "eth0", "up")
	l.ip("-n", l.name(h), "route", "add", "default", "via", "10.88."+lan+".1")
	l.inNS(r, "", "sh", "-c", "echo 1 >/proc/sys/net/ipv4/ip_forward")
	l.inNS(r, natRules(symmetric), "nft", "-f", "-")
}

// startDHTs runs the three persistent DHT nodes of the public segment,
// the first a seed, the others joining through it.
func (l *natLab) startDHTs() {
	for i := 1; i <= 3; i++ {
		args := []string{"--json", "dht", "--host", fmt.Sprintf("198.51.100.%d", i), "--port", "49737"}
		if i > 1 {
			args = append(args, "--bootstrap", natBoot)
		}
		l.dhts = append(l.dhts, l.startDHT(args))
	}
	for _, d := range l.dhts[1:] {
		d.await("bootstrapped", nil)
	}
}

// startDHT runs `hsp dht ARGS` in the public namespace.
func (l *natLab) startDHT(args []string) *dhtProc {
	home := filepath.Join(l.t.TempDir(), "home")
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.name("pub"), hspBinary(l.t)}, args...)...)
	cmd.Env = append(os.Environ(), "HSP_HOME="+home, "HSP_BOOTSTRAP=none", "NO_COLOR=1")
	d := runDHT(l.t, cmd, home)
	d.rec = d.await("listening", nil)
	return d
}

// holepunches counts the holepunches to addr the DHT nodes relayed so far.
func (l *natLab) holepunches(addr string) int {
	n := 0
	for _, d := range l.dhts {
		d.backlog = append(d.backlog, drainLines(d.lines)...)
		for _, line := range d.backlog {
			if rec := jsonOf(l.t, line); rec["type"] == "holepunch" && rec["to"] == addr {
				n++
			}
		}
	}
	return n
}

// natHost is a daemon in a host namespace, driven from here.
type natHost struct {
	*cli
	ns string
}

// daemon starts a daemon in namespace ns, its swarm on host:port, joining
// the DHT through natBoot. Its commands run here, with --no-spawn, so that
// a daemon gone is an error, not a new daemon in this namespace.
func (l *natLab) daemon(ns, host, port string) *natHost {
	c := newCLI(l.t)
	wrapper := filepath.Join(l.t.TempDir(), "hsp")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --no-spawn \"$@\"\n", c.bin)
	must(l.t, os.WriteFile(wrapper, []byte(script), 0o755))
	h := &natHost{cli: c, ns: ns}
	l.startDaemon(h, "--swarm-host", host, "--swarm-port", port)
	c.bin = wrapper
	return h
}

// startDaemon runs `hsp daemon start FLAGS` in h's namespace.
func (l *natLab) startDaemon(h *natHost, flags ...string) {
	args := append([]string{"netns", "exec", l.name(h.ns), hspBinary(l.t), "daemon", "start", "--trace", "swarm"}, flags...)
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), "HSP_HOME="+h.home, "HSP_BOOTSTRAP="+natBoot, "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("hsp daemon start in %s: %v\n%s\n%s", h.ns, err, out, h.logTail())
	}
}

// network is `hsp --json status`'s network.
func (h *natHost) network() map[string]any {
	h.t.Helper()
	return jsonOf(h.t, h.ok("--json", "status"))["network"].(map[string]any)
}

// waitAddress waits until the DHT told the daemon its public address
// (holepunchable or not is decided with it) and returns its network.
func (h *natHost) waitAddress() map[string]any {
	h.t.Helper()
	begin := time.Now()
	for {
		nw := h.network()
		if nw["remoteAddress"] != nil {
			h.t.Logf("%s: address %v and holepunchable %v after %v", h.ns, nw["remoteAddress"], nw["holepunchable"],
				time.Since(begin).Round(time.Millisecond))
			return nw
		}
		if time.Since(begin) > 30*time.Second {
			h.t.Fatalf("%s: no address from the DHT within 30 s: %v\n%s", h.ns, nw, h.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seedCore creates a core of random data and seeds it, and returns its
// key, the data's file and the address each DHT node saw the announce
// come from.
func (h *natHost) seedCore(l *natLab) (key, data string, seen []string) {
	h.t.Helper()
	key = strings.TrimSpace(h.ok("create"))
	data = randomFile(h.t, 256<<10)
	h.appendFile(key, data)
	h.ok("seed", key)
	dk := h.coreInfo(key)["discoveryKey"].(string)
	waitTopic(h.t, h.cli, dk)
	for _, d := range l.dhts {
		rec := d.await("announce", func(r map[string]any) bool { return r["topic"] == dk })
		from, err := netip.ParseAddrPort(rec["from"].(string))
		if err != nil || from.Addr() != netip.MustParseAddr("198.51.100.10") {
			h.t.Fatalf("%s saw the announce from %v, not from A's router", d.rec["host"], rec["from"])
		}
		seen = append(seen, from.String())
	}
	return key, data, seen
}

// countDistinct counts the different strings of ss.
func countDistinct(ss []string) int {
	seen := map[string]bool{}
	for _, s := range ss {
		seen[s] = true
	}
	return len(seen)
}
