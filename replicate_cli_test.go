package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hspd/hsp/internal/nodejs"
	"github.com/hspd/hsp/rpc"
)

// swarmCLI is a cli whose daemon listens for peers on 127.0.0.1:port.
func swarmCLI(t *testing.T) (*cli, string) {
	t.Helper()
	c := newCLI(t)
	port := unusedPort(t)
	c.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", port)
	return c, "127.0.0.1:" + port
}

// randomFile is n incompressible bytes in a file.
func randomFile(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendFile appends path to key in 1 KiB blocks.
func (c *cli) appendFile(key, path string) {
	c.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	if r := c.run(data, "append", "--chunk", "1024", key); r.code != 0 {
		c.t.Fatalf("append: %d %s", r.code, r.stderr)
	}
}

// catEquals checks the core's bytes are the file's.
func (c *cli) catEquals(key, path string) {
	c.t.Helper()
	want, _ := os.ReadFile(path)
	if got := c.ok("cat", "--raw", key); got != string(want) {
		c.t.Fatalf("cat of %s: %d bytes, want the %d of %s", key[:8], len(got), len(want), path)
	}
}

// TestCLIReplicate: B downloads A's 10,000-block core with `replicate
// --peer`, C then downloads it from B; JSON progress parses; each way of
// failing exits 7 with its own message.
func TestCLIReplicate(t *testing.T) {
	a, addrA := swarmCLI(t)
	key := strings.TrimSpace(a.ok("create"))
	data := randomFile(t, 10000<<10)
	a.appendFile(key, data)

	b, addrB := swarmCLI(t)
	r := b.run(nil, "--json", "replicate", key, "--peer", addrA)
	if r.code != 0 {
		t.Fatalf("replicate: exit %d\n%s", r.code, r.stderr)
	}
	done := lastRecord(t, r.stdout, "done")
	if done["have"] != 10000.0 || done["end"] != 10000.0 || done["downloadedBlocks"] != 10000.0 {
		t.Fatalf("done record: %v", done)
	}
	b.catEquals(key, data)

	c, _ := swarmCLI(t)
	if out := c.ok("replicate", key, "--peer", addrB); !strings.Contains(out, "blocks [0, 10000) stored") {
		t.Fatalf("text result: %q", out)
	}
	c.catEquals(key, data)
	pl := jsonOf(t, b.ok("--json", "peers"))
	if _, ok := pl["peers"].([]any); !ok {
		t.Fatalf("peers JSON: %v", pl)
	}

	c.fails(7, "no peer could be reached", "replicate", key, "--peer", closedPort(t))
	other := strings.TrimSpace(c.ok("create"))
	c.fails(7, "the peers do not have core", "replicate", other, "--peer", addrA)
	c.fails(7, "--timeout 1s passed", "replicate", key, "--peer", addrA, "--end", "20000", "--timeout", "1s")
	c.fails(2, "--live and --end", "replicate", key, "--peer", addrA, "--end", "3", "--live")
	c.fails(7, "found through the DHT (1 lookup)", "replicate", other) // its daemon has no bootstrap
}

// lastRecord finds the last JSON line of type typ; every line must be
// JSON with a type.
func lastRecord(t *testing.T, out, typ string) map[string]any {
	t.Helper()
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		rec := jsonOf(t, line)
		if rec["type"] == nil {
			t.Fatalf("a JSON line without a type: %s", line)
		}
		if rec["type"] == typ {
			last = rec
		}
	}
	if last == nil {
		t.Fatalf("no %q record in %q", typ, out)
	}
	return last
}

// replicateJSON starts `hsp --json replicate` and hands out its records.
func (c *cli) replicateJSON(args ...string) (*exec.Cmd, <-chan map[string]any) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--json", "replicate"}, args...)...)
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	recs := make(chan map[string]any, 1000)
	go func() {
		defer close(recs)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				recs <- rec
			}
		}
	}()
	return cmd, recs
}

// waitHave reads progress records until one has at least n blocks.
func waitHave(t *testing.T, recs <-chan map[string]any, n float64) float64 {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case rec, ok := <-recs:
			if !ok {
				t.Fatal("replicate ended before the download was under way")
			}
			if h, _ := rec["have"].(float64); h >= n {
				return h
			}
		case <-timeout:
			t.Fatal("no progress within 60 s")
		}
	}
}

// TestCLIReplicateSurvivesKills: the serving daemon killed mid-download
// and restarted on its port, the download resumes without fetching a
// stored block again; the downloading daemon killed with -9 mid-import
// reopens with a valid core, and a second replicate completes it.
func TestCLIReplicateSurvivesKills(t *testing.T) {
	const n = 20000
	a, addrA := swarmCLI(t)
	key := strings.TrimSpace(a.ok("create"))
	data := randomFile(t, n<<10)
	a.appendFile(key, data)
	port := addrA[strings.LastIndexByte(addrA, ':')+1:]

	b, _ := swarmCLI(t)
	cmd, recs := b.replicateJSON(key, "--peer", addrA)
	have := waitHave(t, recs, 1)
	a.kill9()
	a.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", port)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("replicate across the server's restart: %v", err)
	}
	b.catEquals(key, data)
	up := uploadedTo(t, a)
	t.Logf("server killed with %v blocks stored downstream; after its restart it sent %d", have, up/1024)
	if up/1024 > n-uint64(have) {
		t.Fatalf("the restarted server sent %d blocks, more than the %d missing", up/1024, n-uint64(have))
	}

	c, _ := swarmCLI(t)
	cmd, recs = c.replicateJSON(key, "--peer", addrA)
	waitHave(t, recs, 1)
	c.kill9()
	cmd.Process.Kill()
	cmd.Wait()
	if got := checkAudit(t, c, key); got == 0 || got == n {
		t.Fatalf("killed with %d of %d blocks stored: not mid-import", got, n)
	}
	c.ok("replicate", key, "--peer", addrA)
	c.catEquals(key, data)
	checkAudit(t, c, key)
}

// uploadedTo is the block bytes a's daemon sent peers since it started.
func uploadedTo(t *testing.T, a *cli) uint64 {
	t.Helper()
	var st rpc.Status
	if err := json.Unmarshal([]byte(a.ok("--json", "status")), &st); err != nil {
		t.Fatal(err)
	}
	return st.Network.UploadedBytes
}

// checkAudit opens the core in c's daemon (starting it), audits it and
// returns how many blocks it has.
func checkAudit(t *testing.T, c *cli, key string) uint64 {
	t.Helper()
	c.ok("status")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := rpc.Dial(ctx, filepath.Join(c.home, "hsp.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	k, _ := rpc.ParseKey(key)
	rc, err := client.Open(ctx, rpc.OpenRequest{Key: &k, Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rep, err := rc.Audit(ctx)
	if err != nil {
		t.Fatalf("audit after kill -9: %+v, %v", rep, err)
	}
	info, _ := rc.Info(ctx)
	t.Logf("audit: %+v, %d of %d blocks", rep, info.Downloaded, info.Length)
	return info.Downloaded
}

// jsPeerCLI runs swarm/replicate's JS hypercore 9 peer.
type jsPeerCLI struct {
	cmd    *exec.Cmd
	stdin  *os.File
	events chan map[string]any
}

func startJSPeer(t *testing.T, args ...string) (*jsPeerCLI, map[string]any) {
	t.Helper()
	dir := filepath.Join("swarm", "replicate", "testdata", "jspeer")
	nodejs.Require(t, dir, "JS hypercore 9 peer for hsp replicate")
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "peer.js")}, args...)...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = pr
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	p := &jsPeerCLI{cmd: cmd, stdin: pw, events: make(chan map[string]any, 100)}
	t.Cleanup(func() { pw.Close(); cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
		close(p.events)
	}()
	return p, p.await(t, "ready")
}

func (p *jsPeerCLI) send(v any) {
	b, _ := json.Marshal(v)
	p.stdin.Write(append(b, '\n'))
}

func (p *jsPeerCLI) await(t *testing.T, event string) map[string]any {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				t.Fatalf("the JS peer exited before %q", event)
			}
			if ev["event"] == "error" {
				t.Fatalf("JS peer: %v", ev["message"])
			}
			if ev["event"] == event {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q from the JS peer within 60 s", event)
		}
	}
}

// jsBlock is block(i) of peer.js.
func jsBlock(i int) []byte {
	b := make([]byte, (i*7919)%3001)
	for j := range b {
		b[j] = byte((i*31 + j*17 + (j >> 8)) % 256)
	}
	return b
}

// TestCLIReplicateJS: `hsp replicate --peer` downloads a core a JS
// hypercore 9 peer serves; a JS peer downloads a core from the daemon's
// swarm port, and a live `hsp append` reaches it.
func TestCLIReplicateJS(t *testing.T) {
	const n = 3000
	js, ready := startJSPeer(t, "--listen", "--blocks", strconv.Itoa(n))
	key := ready["key"].(string)
	b, addrB := swarmCLI(t)
	b.ok("replicate", key, "--peer", fmt.Sprintf("127.0.0.1:%v", ready["port"]))
	out := b.ok("--json", "cat", key)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("cat printed %d blocks, want %d", len(lines), n)
	}
	for i, line := range lines {
		var rec rpc.BlockRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil || !bytes.Equal(rec.Data, jsBlock(i)) {
			t.Fatalf("block %d differs from the JS peer's (%v)", i, err)
		}
	}
	js.stdin.Close()

	mine := strings.TrimSpace(b.ok("create"))
	b.ok("append", mine, "one", "two", "three")
	port := addrB[strings.LastIndexByte(addrB, ':')+1:]
	reader, _ := startJSPeer(t, "--connect", port, "--key", mine)
	reader.send(map[string]any{"cmd": "get", "index": 2})
	if got := reader.await(t, "block"); got["data"] != fmt.Sprintf("%x", "three") {
		t.Fatalf("the JS peer got block 2 = %v", got)
	}
	b.ok("append", mine, "live")
	reader.send(map[string]any{"cmd": "get", "index": 3})
	if got := reader.await(t, "block"); got["data"] != fmt.Sprintf("%x", "live") {
		t.Fatalf("the JS peer got block 3 = %v", got)
	}
}

// TestCLIReplicateProgressBar: on a terminal (script(1) gives one)
// replicate draws a progress bar on stderr with blocks, rate and peers.
func TestCLIReplicateProgressBar(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must have script(1) (util-linux) for a terminal")
		}
		t.Skip("needs script(1) for a terminal")
	}
	a, addrA := swarmCLI(t)
	key := strings.TrimSpace(a.ok("create"))
	a.appendFile(key, randomFile(t, 20000<<10))
	b := newCLI(t)
	cmd := exec.Command("script", "-qec", b.bin+" replicate "+key+" --peer "+addrA, "/dev/null")
	cmd.Env = append(os.Environ(), "HSP_HOME="+b.home, "NO_COLOR=1", "COLUMNS=100")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("replicate on a terminal: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"blocks/s", "1 peer", "%", "blocks [0, 20000) stored"} {
		if !strings.Contains(s, want) {
			t.Fatalf("no %q on the terminal:\n%q", want, s)
		}
	}
}

// TestCLIReplicateLive: --live keeps following A's appends until
// interrupted, then prints its done record and exits 0.
func TestCLIReplicateLive(t *testing.T) {
	a, addrA := swarmCLI(t)
	key := strings.TrimSpace(a.ok("create"))
	a.ok("append", key, "one", "two")
	b, _ := swarmCLI(t)
	cmd, recs := b.replicateJSON(key, "--peer", addrA, "--live")
	waitHave(t, recs, 2)
	a.ok("append", key, "three")
	waitHave(t, recs, 3)
	if got := b.ok("cat", key); got != "one\ntwo\nthree\n" {
		t.Fatalf("B has %q", got)
	}
	cmd.Process.Signal(os.Interrupt)
	var last map[string]any
	for rec := range recs {
		last = rec
	}
	if err := cmd.Wait(); err != nil || last["type"] != "done" || last["have"] != 3.0 {
		t.Fatalf("interrupted --live: %v, last record %v", err, last)
	}
}
