package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/internal/nodejs"
)

// These tests run `hsp dht` as a user would, on 127.0.0.1 only, with
// nothing but each other and JS nodes to bootstrap from.

// dhtWait bounds every wait for a line of `hsp dht` or of a JS peer.
const dhtWait = 30 * time.Second

// dhtProc is a running `hsp dht --host 127.0.0.1`.
type dhtProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	home   string
	lines  chan string // stdout
	errs   chan string // stderr
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
	// backlog holds the lines await read but did not return.
	backlog []string
	// From the listening line (with --json).
	addr, id string
	port     int
	rec      map[string]any
}

// startDHT runs `hsp dht --host 127.0.0.1 --port 0 ARGS` with env added
// (and no $HSP_BOOTSTRAP of the test's own); with --json among args it
// reads the listening line.
func startDHT(t *testing.T, env []string, args ...string) *dhtProc {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	cmd := exec.Command(hspBinary(t), append([]string{"dht", "--host", "127.0.0.1", "--port", "0"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HSP_BOOTSTRAP=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{"HSP_HOME=" + home, "NO_COLOR=1"}, env...)...)
	d := runDHT(t, cmd, home)
	if strings.Contains(strings.Join(args, " "), "--json") {
		d.rec = d.await("listening", nil)
		d.port = int(d.rec["port"].(float64))
		d.addr = fmt.Sprintf("%v:%d", d.rec["host"], d.port)
		d.id, _ = d.rec["id"].(string)
	}
	return d
}

// runDHT starts cmd, an `hsp dht` with its home, reading its lines until
// it exits; the test's end kills it.
func runDHT(t *testing.T, cmd *exec.Cmd, home string) *dhtProc {
	t.Helper()
	d := &dhtProc{t: t, home: home, lines: make(chan string, 10000),
		errs: make(chan string, 1000), exited: make(chan struct{})}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.cmd = cmd
	t.Cleanup(func() { cmd.Process.Kill(); <-d.exited })
	readDone := make(chan struct{}, 2)
	go scanLines(stdout, d.lines, readDone)
	go scanLines(stderr, d.errs, readDone)
	go func() { <-readDone; <-readDone; d.err = cmd.Wait(); close(d.exited) }()
	return d
}

func scanLines(r io.Reader, to chan<- string, done chan<- struct{}) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		to <- sc.Text()
	}
	done <- struct{}{}
}

// line returns the next stdout line.
func (d *dhtProc) line() string {
	d.t.Helper()
	select {
	case l := <-d.lines:
		return l
	case <-d.exited:
		d.t.Fatalf("hsp dht exited (%v) before printing a line", d.err)
	case <-time.After(dhtWait):
		d.t.Fatalf("hsp dht printed no line within %v", dhtWait)
	}
	return ""
}

// await returns the first JSON line, of those not returned yet, of type
// typ that match accepts (nil: any); every line must be JSON with a type.
func (d *dhtProc) await(typ string, match func(map[string]any) bool) map[string]any {
	d.t.Helper()
	ok := func(l string) (map[string]any, bool) {
		rec := jsonOf(d.t, l)
		if rec["type"] == nil {
			d.t.Fatalf("a line without a type: %s", l)
		}
		return rec, rec["type"] == typ && (match == nil || match(rec))
	}
	for i, l := range d.backlog {
		if rec, yes := ok(l); yes {
			d.backlog = append(d.backlog[:i], d.backlog[i+1:]...)
			return rec
		}
	}
	deadline := time.After(dhtWait)
	for {
		select {
		case l := <-d.lines:
			if rec, yes := ok(l); yes {
				return rec
			}
			d.backlog = append(d.backlog, l)
		case <-d.exited:
			d.t.Fatalf("hsp dht exited (%v) before a %q line; it printed\n%s", d.err, typ, strings.Join(d.backlog, "\n"))
		case <-deadline:
			d.t.Fatalf("no %q line within %v; hsp dht printed\n%s", typ, dhtWait, strings.Join(d.backlog, "\n"))
		}
	}
}

// awaitErr reads stderr until a line contains want.
func (d *dhtProc) awaitErr(want string) {
	d.t.Helper()
	deadline := time.After(dhtWait)
	for {
		select {
		case l := <-d.errs:
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			d.t.Fatalf("no %q on stderr within %v", want, dhtWait)
		}
	}
}

// stop sends sig and checks that hsp dht exits 0; it returns the lines
// that await did not return.
func (d *dhtProc) stop(sig os.Signal) []string {
	d.t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("hsp dht did not exit within 10 s of %v", sig)
	}
	if d.err != nil {
		d.t.Fatalf("hsp dht exited with %v after %v; stderr:\n%s", d.err, sig, drainLines(d.errs))
	}
	if _, err := os.Stat(d.home); !os.IsNotExist(err) {
		d.t.Fatalf("hsp dht touched its home %s (%v): it must not start a daemon", d.home, err)
	}
	return append(d.backlog, drainLines(d.lines)...)
}

func drainLines(c chan string) []string {
	var out []string
	for {
		select {
		case l := <-c:
			out = append(out, l)
		default:
			return out
		}
	}
}

func joinedBy(id string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["change"] == "joined" && r["nodeId"] == id }
}

// TestCLIDHTJSON: a second node bootstraps from a first, each sees the
// other join; an ephemeral one joins neither table; SIGINT and SIGTERM
// exit 0; a taken port exits 1.
func TestCLIDHTJSON(t *testing.T) {
	a := startDHT(t, nil, "--json")
	if a.rec["host"] != "127.0.0.1" || a.port == 0 || len(a.id) != 64 || a.rec["persistent"] != true || fmt.Sprint(a.rec["bootstrap"]) != "[]" {
		t.Fatalf("listening line: %v", a.rec)
	}
	b := startDHT(t, nil, "--json", "--bootstrap", a.addr)
	if fmt.Sprint(b.rec["bootstrap"]) != "["+a.addr+"]" {
		t.Fatalf("listening line: %v", b.rec)
	}
	if j := a.await("nodes", joinedBy(b.id)); j["nodeAddress"] != b.addr || j["nodes"] != 1.0 {
		t.Fatalf("the seed's nodes line: %v", j)
	}
	b.await("nodes", joinedBy(a.id))
	if r := b.await("bootstrapped", nil); r["attempts"] != 1.0 || r["nodes"] != 1.0 {
		t.Fatalf("bootstrapped line: %v", r)
	}

	e := startDHT(t, nil, "--json", "--ephemeral", "--bootstrap", a.addr+","+b.addr)
	if e.rec["persistent"] != false {
		t.Fatalf("listening line: %v", e.rec)
	}
	e.await("bootstrapped", nil)
	e.stop(syscall.SIGTERM)

	r := (&cli{t: t, bin: hspBinary(t), home: t.TempDir()}).run(nil, "dht", "--host", "127.0.0.1", "--port", fmt.Sprint(a.port))
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") {
		t.Fatalf("a taken port: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, l := range a.stop(os.Interrupt) {
		if rec := jsonOf(t, l); rec["nodeId"] == e.id {
			t.Fatalf("the ephemeral node entered the seed's table: %s", l)
		}
	}
	b.stop(syscall.SIGTERM)
}

// TestCLIDHTText: the text lines, with the bootstrap list from
// $HSP_BOOTSTRAP.
func TestCLIDHTText(t *testing.T) {
	a := startDHT(t, nil, "--json")
	b := startDHT(t, []string{"HSP_BOOTSTRAP=" + a.addr})
	first := regexp.MustCompile(`^listening on 127\.0\.0\.1:[0-9]+ · id [0-9a-f]{64} · persistent · bootstrap ` + regexp.QuoteMeta(a.addr) + `$`)
	if l := b.line(); !first.MatchString(l) {
		t.Fatalf("first line %q", l)
	}
	joined := regexp.MustCompile(`^joined +` + regexp.QuoteMeta(a.addr) + ` id ` + a.id + ` · 1 node$`)
	lines := []string{b.line(), b.line()}
	if !joined.MatchString(lines[0]) || lines[1] != "bootstrapped · 1 node · 1 walk" {
		t.Fatalf("then:\n%s", strings.Join(lines, "\n"))
	}
	b.stop(os.Interrupt)
}

// TestCLIDHTBootstrapRetry: a node whose bootstrap node is not up yet
// says so on stderr and walks again until it comes up.
func TestCLIDHTBootstrapRetry(t *testing.T) {
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.LocalAddr().(*net.UDPAddr).Port
	free.Close()
	boot := fmt.Sprintf("127.0.0.1:%d", port)
	b := startDHT(t, nil, "--json", "--bootstrap", boot)
	b.awaitErr("hsp: warning: no bootstrap node answered (" + boot + "); trying again in 1s")
	a := startDHT(t, nil, "--json", "--port", fmt.Sprint(port))
	if r := b.await("bootstrapped", nil); r["attempts"].(float64) < 2 {
		t.Fatalf("bootstrapped line: %v", r)
	}
	a.await("nodes", joinedBy(b.id))
}

// jsProc is a running JS script of swarm/dht/testdata/jsdht.
type jsProc struct {
	t       *testing.T
	stdin   io.WriteCloser
	events  chan map[string]any
	backlog []map[string]any // read by await, not returned
}

const dhtJSDir = "swarm/dht/testdata/jsdht"

// startJSDHT runs one of the scripts with its JSON config.
func startJSDHT(t *testing.T, script string, cfg any) *jsProc {
	t.Helper()
	nodejs.Require(t, dhtJSDir, "JS DHT peers for hsp dht")
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command("node", script, string(arg))
	cmd.Dir = dhtJSDir
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &jsProc{t: t, stdin: stdin, events: make(chan map[string]any, 1000)}
	done := make(chan struct{})
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); <-done; cmd.Wait() })
	go func() {
		defer close(done)
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
	}()
	return p
}

func (p *jsProc) send(v any) {
	b, _ := json.Marshal(v)
	p.stdin.Write(append(b, '\n'))
}

// await returns the first event, of those not returned yet, named event
// that match accepts (nil: any).
func (p *jsProc) await(event string, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	ok := func(ev map[string]any) bool { return ev["event"] == event && (match == nil || match(ev)) }
	for i, ev := range p.backlog {
		if ok(ev) {
			p.backlog = append(p.backlog[:i], p.backlog[i+1:]...)
			return ev
		}
	}
	deadline := time.After(dhtWait)
	for {
		select {
		case ev, open := <-p.events:
			if !open {
				p.t.Fatalf("the JS peer exited before %q", event)
			}
			if ok(ev) {
				return ev
			}
			p.backlog = append(p.backlog, ev)
		case <-deadline:
			p.t.Fatalf("no %q from the JS peer within %v", event, dhtWait)
		}
	}
}

// call runs a node.js command and returns its result lines once done.
func (p *jsProc) call(cmd map[string]any) []map[string]any {
	p.t.Helper()
	p.send(cmd)
	isMine := func(ev map[string]any) bool { return ev["id"] == cmd["id"] }
	if done := p.await("done", isMine); done["error"] != nil {
		p.t.Fatalf("node.js %v: %v", cmd, done["error"])
	}
	var results []map[string]any
	for {
		select {
		case ev := <-p.events:
			p.backlog = append(p.backlog, ev)
		default:
			kept := p.backlog[:0]
			for _, ev := range p.backlog {
				if ev["event"] == "result" && isMine(ev) {
					results = append(results, ev)
				} else {
					kept = append(kept, ev)
				}
			}
			p.backlog = kept
			return results
		}
	}
}

func randomTopic() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func addrOfJS(ev map[string]any) string { return fmt.Sprintf("%v:%v", ev["host"], ev["port"]) }

// TestCLIDHTJS: JS @hyperswarm/dht nodes with `hsp dht` as their only
// bootstrap: one announces, the other finds it and holepunches to it
// through hsp; hsp reports each request, then the unannounce.
func TestCLIDHTJS(t *testing.T) {
	seed := startDHT(t, nil, "--json")
	cfg := map[string]any{"bootstrap": []string{seed.addr}, "ephemeral": true}
	a, b := startJSDHT(t, "node.js", cfg), startJSDHT(t, "node.js", cfg)
	addrA, addrB := addrOfJS(a.await("listening", nil)), addrOfJS(b.await("listening", nil))
	a.await("ready", nil)
	b.await("ready", nil)
	topic := randomTopic()
	isTopic := func(r map[string]any) bool { return r["topic"] == topic }

	a.call(map[string]any{"id": 1.0, "cmd": "announce", "topic": topic, "port": 40999})
	if r := seed.await("announce", isTopic); r["from"] != "127.0.0.1:40999" {
		t.Fatalf("announce line: %v", r)
	}
	found := false
	for _, res := range b.call(map[string]any{"id": 2.0, "cmd": "lookup", "topic": topic}) {
		found = found || strings.Contains(fmt.Sprint(res["peers"]), "port:40999")
	}
	if !found {
		t.Fatal("the JS lookup did not find the JS announce")
	}
	seed.await("lookup", func(r map[string]any) bool { return isTopic(r) && r["from"] == addrB })
	b.call(map[string]any{"id": 3.0, "cmd": "holepunch", "peer": addrA, "referrer": seed.addr})
	if r := seed.await("holepunch", nil); r["from"] != addrB || r["to"] != addrA {
		t.Fatalf("holepunch line: %v (from %s to %s)", r, addrB, addrA)
	}
	a.call(map[string]any{"id": 4.0, "cmd": "unannounce", "topic": topic})
	seed.await("unannounce", isTopic)
	seed.stop(os.Interrupt)
}

// TestCLIDHTHyperswarm: two JS hyperswarm 2 peers find each other through
// `hsp dht` alone, connect and exchange a line each way.
func TestCLIDHTHyperswarm(t *testing.T) {
	seed := startDHT(t, nil, "--json")
	topic := randomTopic()
	peer := func(name string, announce bool) *jsProc {
		return startJSDHT(t, "swarmpeer.js", map[string]any{"name": name, "bootstrap": []string{seed.addr},
			"topic": topic, "announce": announce, "lookup": !announce})
	}
	a := peer("a", true)
	a.await("joined", nil)
	seed.await("announce", func(r map[string]any) bool { return r["topic"] == topic })
	b := peer("b", false)
	b.await("joined", nil)
	seed.await("lookup", func(r map[string]any) bool { return r["topic"] == topic })
	text := func(s string) func(map[string]any) bool {
		return func(ev map[string]any) bool { return ev["text"] == s }
	}
	got := b.await("message", text("hello from a"))
	a.await("message", text("hello from b"))
	t.Logf("connected over %v", got["type"])
	seed.stop(syscall.SIGTERM)
}
