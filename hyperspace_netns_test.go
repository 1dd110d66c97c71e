package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/internal/nodejs"
)

// hsp against JS Hyperspace 3.19, each on a host of its own. JS
// Hyperspace's networker ignores every peer that comes from 127.0.0.1, so
// the hosts are network namespaces on a bridge of their own, at 10.77.0.x,
// with no route off it:
//
//	namespace hspjs<pid>-<n>-br    bridge br0, ports p1 p2 p3
//	          hspjs<pid>-<n>-dht   eth0 10.77.0.1  the DHT bootstrap, on port 49737
//	          hspjs<pid>-<n>-js    eth0 10.77.0.2  JS Hyperspace: server + client
//	          hspjs<pid>-<n>-hsp   eth0 10.77.0.3  hsp's daemon, swarm on port 40100
//
// The CLI runs in the test's own namespace and reaches the daemon through
// the socket in its home (unix sockets on a path are not namespaced).

const (
	hyperspaceJSDir = "testdata/jshyperspace"
	// hyperspaceBlocks is how many blocks each way replicates; live appends
	// add hyperspaceLive more.
	hyperspaceBlocks = 200
	hyperspaceLive   = 5
	// hyperspaceSwarmPort is where hsp's daemon listens for peers.
	hyperspaceSwarmPort = "40100"
	hyperspaceDHTPort   = 49737
)

// TestHyperspaceNetns: a core made through JS Hyperspace's client is
// replicated by hsp by its key alone, and one made and seeded by hsp is
// read block by block through JS Hyperspace's client; then a live append
// on each side arrives on the other. Once with `hsp dht` as the DHT
// bootstrap, once with a JS @hyperswarm/dht node.
func TestHyperspaceNetns(t *testing.T) {
	for _, boot := range []string{"hsp-dht", "js-dht"} {
		t.Run(boot, func(t *testing.T) {
			lan := hyperspaceLAN(t, "dht", "js", "hsp")
			nodejs.Require(t, hyperspaceJSDir, "JS Hyperspace peer")
			var bootAddr string
			if boot == "hsp-dht" {
				bootAddr = startHyperspaceDHT(t, lan["dht"])
			} else {
				bootAddr = startHyperspaceJSDHT(t, lan["dht"])
			}
			js := startHyperspacePeer(t, lan["js"], bootAddr)
			hs := hyperspaceDaemon(t, lan["hsp"], bootAddr)
			pid := hs.daemonPid()
			hyperspaceJSToHsp(t, js, hs)
			hyperspaceHspToJS(t, js, hs)
			if st := js.call(map[string]any{"id": "status", "cmd": "status"})[0]; st["mdnsStubs"].(float64) < 1 || fmt.Sprint(st["mdnsReal"]) != "[]" {
				t.Fatalf("JS Hyperspace's multicast DNS was not the stub: %v", st)
			}
			if got := hs.daemonPid(); got != pid {
				t.Fatalf("hsp's daemon changed from pid %d to %d: a command spawned one outside %s", pid, got, lan["hsp"].ns)
			}
		})
	}
}

// hyperspaceJSToHsp: JS makes a core, announces it; hsp replicates it by
// key and follows a live append.
func hyperspaceJSToHsp(t *testing.T, js *hyperspacePeer, hs *cli) {
	blocks := randomBlockList(t, hyperspaceBlocks, false)
	key := js.call(map[string]any{"id": "create", "cmd": "create", "blocks": toBase64(blocks)})[0]["key"].(string)
	js.call(map[string]any{"id": "announce", "cmd": "configure", "key": key, "announce": true, "lookup": true})

	start := time.Now()
	r := hs.run(nil, "--no-spawn", "--json", "replicate", "--timeout", "60s", key)
	if r.code != 0 {
		t.Fatalf("hsp replicate of JS's core by key: exit %d\n%s", r.code, r.stderr)
	}
	took := time.Since(start)
	if done := lastRecord(t, r.stdout, "done"); done["have"] != float64(hyperspaceBlocks) {
		t.Fatalf("replicate's done record: %v", done)
	}
	sameBlocks(t, "hsp's copy of JS's core", catAllBlocks(t, hs, key), blocks)
	t.Logf("JS → hsp: %d blocks, %d bytes, replicated by key in %v", len(blocks), totalBytes(blocks), took.Round(time.Millisecond))

	follow := hspLive(t, hs, "--json", "replicate", "--live", key)
	hyperspaceAwait(t, follow, "hsp replicate --live connected to JS", func(rec map[string]any) bool {
		known, _ := rec["known"].(float64)
		return rec["type"] == "progress" && known >= 1
	})
	checkHyperspacePeer(t, hs, js, key)
	cat := hspLive(t, hs, "--json", "cat", "--live", "--start", fmt.Sprint(hyperspaceBlocks), key)
	more := randomBlockList(t, hyperspaceLive, false)
	start = time.Now()
	js.call(map[string]any{"id": "append", "cmd": "append", "key": key, "blocks": toBase64(more)})
	got := make([][]byte, len(more))
	for i := range more {
		rec := hyperspaceAwait(t, cat, fmt.Sprintf("block %d, appended by JS, in hsp cat --live", hyperspaceBlocks+i), nil)
		if rec["index"] != float64(hyperspaceBlocks+i) {
			t.Fatalf("hsp cat --live printed %v, want block %d", rec, hyperspaceBlocks+i)
		}
		got[i] = fromBase64(t, rec["data"])
	}
	sameBlocks(t, "JS's live appends in hsp", got, more)
	t.Logf("JS → hsp live: %d blocks appended by JS arrived in %v", len(more), time.Since(start).Round(time.Millisecond))
	sameBlocks(t, "hsp's copy of JS's core after the live appends", catAllBlocks(t, hs, key), append(blocks, more...))
}

// hyperspaceHspToJS: hsp makes and seeds a core; JS reads it by key and
// follows a live `hsp append`.
func hyperspaceHspToJS(t *testing.T, js *hyperspacePeer, hs *cli) {
	key := strings.TrimSpace(hs.ok("--no-spawn", "create"))
	blocks := randomBlockList(t, hyperspaceBlocks, true)
	if r := hs.run(blockLines(blocks), "--no-spawn", "append", key); r.code != 0 || r.stdout != fmt.Sprintf("%d\n", hyperspaceBlocks) {
		t.Fatalf("hsp append: %+v", r)
	}
	hs.ok("--no-spawn", "seed", key)
	waitTopic(t, hs, hs.coreInfo(key)["discoveryKey"].(string))

	start := time.Now()
	if opened := js.call(map[string]any{"id": "open", "cmd": "open", "key": key})[0]; opened["writable"] != false {
		t.Fatalf("JS opened hsp's core: %v", opened)
	}
	js.call(map[string]any{"id": "lookup", "cmd": "configure", "key": key, "announce": false, "lookup": true})
	var got [][]byte
	for i, res := range js.call(map[string]any{"id": "read", "cmd": "read", "key": key, "start": 0, "end": hyperspaceBlocks}) {
		if res["index"] != float64(i) {
			t.Fatalf("JS's read result %d: %v", i, res)
		}
		got = append(got, fromBase64(t, res["data"]))
	}
	took := time.Since(start)
	sameBlocks(t, "JS's copy of hsp's core", got, blocks)
	t.Logf("hsp → JS: %d blocks, %d bytes, read by JS Hyperspace's client in %v", len(blocks), totalBytes(blocks), took.Round(time.Millisecond))
	peer := js.await("peer-add", func(ev map[string]any) bool { return ev["key"] == key })
	if addr, _ := peer["remoteAddress"].(string); strings.TrimPrefix(addr, "::ffff:") != "10.77.0.3" {
		t.Fatalf("JS replicated hsp's core with %v, not hsp at 10.77.0.3", peer)
	}

	js.call(map[string]any{"id": "follow", "cmd": "follow", "key": key, "from": hyperspaceBlocks})
	more := randomBlockList(t, hyperspaceLive, true)
	start = time.Now()
	if r := hs.run(blockLines(more), "--no-spawn", "append", key); r.code != 0 {
		t.Fatalf("hsp append: %+v", r)
	}
	got = got[:0]
	for i := range more {
		ev := js.await("block", func(ev map[string]any) bool { return ev["key"] == key && ev["index"] == float64(hyperspaceBlocks+i) })
		got = append(got, fromBase64(t, ev["data"]))
	}
	sameBlocks(t, "hsp's live appends in JS", got, more)
	t.Logf("hsp → JS live: %d blocks appended by hsp arrived in %v", len(more), time.Since(start).Round(time.Millisecond))
}

// checkHyperspacePeer checks that hsp replicates key with JS Hyperspace,
// at its namespace's address.
func checkHyperspacePeer(t *testing.T, hs *cli, js *hyperspacePeer, key string) {
	t.Helper()
	dk := hs.coreInfo(key)["discoveryKey"].(string)
	for _, p := range jsonOf(t, hs.ok("--no-spawn", "--json", "peers"))["peers"].([]any) {
		peer := p.(map[string]any)
		if peer["remotePublicKey"] == js.publicKey && strings.Contains(fmt.Sprint(peer["discoveryKeys"]), dk) {
			if addr := peer["remoteAddress"].(string); !strings.HasPrefix(addr, "10.77.0.2:") {
				t.Fatalf("hsp sees JS Hyperspace at %s, not 10.77.0.2", addr)
			}
			return
		}
	}
	t.Fatalf("hsp replicates %s with no JS Hyperspace peer (key %s):\n%s", key[:8], js.publicKey, hs.ok("--no-spawn", "peers"))
}

// randomBlockList are n blocks of 1 to 4 KiB of random bytes; noNewline
// changes each "\n" so that `hsp append` takes each block as a line.
func randomBlockList(t *testing.T, n int, noNewline bool) [][]byte {
	t.Helper()
	blocks := make([][]byte, n)
	for i := range blocks {
		size, err := rand.Int(rand.Reader, big.NewInt(3<<10+1))
		must(t, err)
		b := make([]byte, 1<<10+size.Int64())
		rand.Read(b)
		if noNewline {
			b = bytes.ReplaceAll(b, []byte("\n"), []byte("\v"))
		}
		blocks[i] = b
	}
	return blocks
}

func blockLines(blocks [][]byte) []byte { return append(bytes.Join(blocks, []byte("\n")), '\n') }

func toBase64(blocks [][]byte) []string {
	out := make([]string, len(blocks))
	for i, b := range blocks {
		out[i] = base64.StdEncoding.EncodeToString(b)
	}
	return out
}

func fromBase64(t *testing.T, v any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
	must(t, err)
	return b
}

func totalBytes(blocks [][]byte) (n int) {
	for _, b := range blocks {
		n += len(b)
	}
	return n
}

// catAllBlocks is every block of key, from `hsp cat --json`.
func catAllBlocks(t *testing.T, c *cli, key string) [][]byte {
	t.Helper()
	var out [][]byte
	for i, l := range strings.Split(strings.TrimSpace(c.ok("--no-spawn", "--json", "cat", key)), "\n") {
		rec := jsonOf(t, l)
		if rec["index"] != float64(i) {
			t.Fatalf("hsp cat --json line %d: %v", i, rec)
		}
		out = append(out, fromBase64(t, rec["data"]))
	}
	return out
}

// sameBlocks compares got with want block by block.
func sameBlocks(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: block %d differs: %d bytes, want %d", what, i, len(got[i]), len(want[i]))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d blocks, want %d", what, len(got), len(want))
	}
}

// hyperspaceHost is one host of a hyperspaceLAN.
type hyperspaceHost struct{ ns, addr string }

var hyperspaceLANs atomic.Int32

// hyperspaceLAN builds a LAN of the named hosts: each a network namespace
// with lo and eth0 (at 10.77.0.1, .2, ... in order), joined to a bridge
// in a namespace of its own. None has a route off the LAN, and the test's
// own namespace gets no interface. Cleanup deletes them all, after the
// processes started later are gone. Without network namespaces it skips,
// saying why, or fails under CI.
func hyperspaceLAN(t *testing.T, names ...string) map[string]hyperspaceHost {
	t.Helper()
	prefix := fmt.Sprintf("hspjs%d-%d", os.Getpid(), hyperspaceLANs.Add(1))
	bridge := prefix + "-br"
	if out, err := exec.Command("ip", "netns", "add", bridge).CombinedOutput(); err != nil {
		why := fmt.Sprintf("network namespaces unavailable (uid %d): ip netns add: %v %s", os.Getuid(), err, bytes.TrimSpace(out))
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run this test as root with network namespaces: %s", why)
		}
		t.Skip(why)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", bridge).Run() })
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("-n", bridge, "link", "add", "br0", "type", "bridge")
	ip("-n", bridge, "link", "set", "br0", "up")
	hosts := map[string]hyperspaceHost{}
	for i, name := range names {
		h := hyperspaceHost{prefix + "-" + name, fmt.Sprintf("10.77.0.%d", i+1)}
		ip("netns", "add", h.ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", h.ns).Run() })
		ip("-n", h.ns, "link", "set", "lo", "up")
		port := fmt.Sprintf("p%d", i+1)
		ip("-n", bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		ip("-n", bridge, "link", "set", port, "master", "br0", "up")
		ip("-n", h.ns, "addr", "add", h.addr+"/24", "dev", "eth0")
		ip("-n", h.ns, "link", "set", "eth0", "up")
		hosts[name] = h
	}
	return hosts
}

// hyperspaceExec is a command run in network namespace ns.
func hyperspaceExec(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// hyperspaceOnFailure logs what describe says if the test failed by the
// time its cleanup runs (before the processes registered earlier stop).
func hyperspaceOnFailure(t *testing.T, what string, describe func() string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s:\n%s", what, describe())
		}
	})
}

// startHyperspaceDHT runs `hsp dht --json` on h's address and returns it.
func startHyperspaceDHT(t *testing.T, h hyperspaceHost) string {
	t.Helper()
	home := t.TempDir()
	cmd := hyperspaceExec(h.ns, hspBinary(t), "dht", "--host", h.addr, "--port", fmt.Sprint(hyperspaceDHTPort), "--json")
	cmd.Env = append(os.Environ(), "HSP_BOOTSTRAP=none", "HSP_HOME="+home, "NO_COLOR=1")
	d := runDHT(t, cmd, home)
	rec := d.await("listening", nil)
	hyperspaceOnFailure(t, "hsp dht printed", func() string {
		return strings.Join(append(append(d.backlog, drainLines(d.lines)...), drainLines(d.errs)...), "\n")
	})
	return fmt.Sprintf("%v:%v", rec["host"], rec["port"])
}

// startHyperspaceJSDHT runs bootstrap.js on h's address and returns it.
func startHyperspaceJSDHT(t *testing.T, h hyperspaceHost) string {
	t.Helper()
	p := startHyperspaceJS(t, h.ns, "bootstrap.js", map[string]any{"host": h.addr, "port": hyperspaceDHTPort})
	return addrOfJS(p.await("listening", nil))
}

// hyperspacePeer is a running hyperspace-peer.js.
type hyperspacePeer struct {
	*jsProc
	publicKey string // its swarm's Noise key
}

// startHyperspacePeer runs JS Hyperspace on h, joining the DHT through
// boot, and waits until its client answers.
func startHyperspacePeer(t *testing.T, h hyperspaceHost, boot string) *hyperspacePeer {
	t.Helper()
	p := startHyperspaceJS(t, h.ns, "hyperspace-peer.js", map[string]any{"bootstrap": []string{boot}, "storage": t.TempDir()})
	return &hyperspacePeer{p, p.await("ready", nil)["publicKey"].(string)}
}

// startHyperspaceJS runs a script of testdata/jshyperspace in namespace ns
// with its JSON config; its stderr is logged if the test fails. Cleanup
// ends its stdin and waits for it to exit (killing it after 15 s), and
// says so when that took long. (JS Hyperspace's close waits for every
// uTP connection to end: one that hsp closed as a duplicate, whose last
// FIN hsp never acknowledges, holds it until libutp gives up or hsp's
// port is gone, and then hyperspace-peer.js exits after 10 s.)
func startHyperspaceJS(t *testing.T, ns, script string, cfg any) *jsProc {
	t.Helper()
	arg, _ := json.Marshal(cfg)
	cmd := hyperspaceExec(ns, "node", script, string(arg))
	cmd.Dir = hyperspaceJSDir
	stderr := &hyperspaceOutput{}
	cmd.Stderr = stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	must(t, cmd.Start())
	p := &jsProc{t: t, stdin: stdin, events: make(chan map[string]any, 1000)}
	t.Cleanup(func() {
		start := time.Now()
		stdin.Close()
		drainUntilClosed(p.events, 15*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		if took := time.Since(start); took > 5*time.Second {
			t.Logf("%s took %v to exit once its stdin closed; its stderr ends:\n%s", script, took.Round(time.Millisecond), stderr.tail())
		}
	})
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
	}()
	hyperspaceOnFailure(t, script+"'s stderr", stderr.tail)
	return p
}

// drainUntilClosed reads ch until it is closed, calling kill once if
// that takes longer than patience.
func drainUntilClosed[T any](ch <-chan T, patience time.Duration, kill func()) {
	timeout := time.After(patience)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-timeout:
			kill()
		}
	}
}

// hyperspaceOutput collects a process's output for a failure's message.
type hyperspaceOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *hyperspaceOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail is the last 8 KiB written.
func (b *hyperspaceOutput) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	return s[max(0, len(s)-8<<10):]
}

// hyperspaceDaemon starts an hsp daemon in h's namespace, its swarm on h's
// address, joining the DHT through boot; the returned cli talks to it
// from the test's namespace, through the socket in its home.
func hyperspaceDaemon(t *testing.T, h hyperspaceHost, boot string) *cli {
	t.Helper()
	c := newCLI(t)
	cmd := hyperspaceExec(h.ns, c.bin, "daemon", "start", "--swarm-host", h.addr, "--swarm-port", hyperspaceSwarmPort, "--bootstrap", boot)
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hsp daemon start in %s: %v\n%s", h.ns, err, out)
	}
	hyperspaceOnFailure(t, "hsp's "+c.home+"/daemon.log", c.logTail)
	pid := int(jsonOf(t, c.ok("--no-spawn", "--json", "status"))["pid"].(float64))
	if out, _ := exec.Command("ip", "netns", "identify", fmt.Sprint(pid)).Output(); strings.TrimSpace(string(out)) != h.ns {
		t.Fatalf("hsp's daemon %d runs in namespace %q, not %s", pid, bytes.TrimSpace(out), h.ns)
	}
	c.dhtStatus(15*time.Second, func(d map[string]any) bool { return d["bootstrapped"] == true })
	return c
}

// hspLive starts a long-running hsp command of c (cat --live,
// replicate --live) and hands out its JSON lines; cleanup interrupts it.
func hspLive(t *testing.T, c *cli, args ...string) <-chan map[string]any {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1")
	stderr := &hyperspaceOutput{}
	cmd.Stderr = stderr
	stdout, _ := cmd.StdoutPipe()
	must(t, cmd.Start())
	recs := make(chan map[string]any, 1000)
	go func() {
		defer close(recs)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"type": "not JSON", "line": sc.Text()}
			}
			recs <- rec
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		drainUntilClosed(recs, 10*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
	})
	hyperspaceOnFailure(t, "hsp "+strings.Join(args, " ")+"'s stderr", stderr.tail)
	return recs
}

// hyperspaceAwait returns the next record that match accepts (nil: any),
// waiting at most dhtWait.
func hyperspaceAwait(t *testing.T, recs <-chan map[string]any, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(dhtWait)
	for {
		select {
		case rec, open := <-recs:
			if !open {
				t.Fatalf("the hsp command ended before %s", what)
			}
			if match == nil || match(rec) {
				return rec
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, dhtWait)
		}
	}
}
