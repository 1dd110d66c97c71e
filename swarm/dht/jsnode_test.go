//go:build unix

package dht

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/internal/nodejs"
)

// The interop tests run testdata/jsdht/node.js, a real @hyperswarm/dht
// 4.0.1 / dht-rpc 4.9.6 node, installed from its package-lock.json by
// `npm ci` on first use. Without node they fail when CI is set and skip
// with a message otherwise.

const jsDir = "testdata/jsdht"

func requireJS(t testing.TB) { nodejs.Require(t, jsDir, "JS DHT interop test") }

// jsNode is a running node.js.
type jsNode struct {
	t      testing.TB
	stdin  io.WriteCloser
	mu     sync.Mutex
	nextID int
	waits  map[int]chan jsEvent
	events chan jsEvent // node events (announce, lookup, holepunch, ready)
	addr   netip.AddrPort
	id     string
	exited chan struct{}
}

type jsEvent map[string]any

type jsConfig struct {
	Bootstrap []string `json:"bootstrap"`
	Ephemeral bool     `json:"ephemeral"`
}

func startJS(t testing.TB, cfg jsConfig) *jsNode {
	t.Helper()
	requireJS(t)
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command("node", "node.js", string(arg))
	cmd.Dir = jsDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	j := &jsNode{t: t, stdin: stdin, waits: map[int]chan jsEvent{}, events: make(chan jsEvent, 4096), exited: make(chan struct{})}
	t.Cleanup(func() { j.stop(cmd) })
	first := make(chan jsEvent, 1)
	go j.read(stdout, first)
	select {
	case ev := <-first:
		j.addr = netip.AddrPortFrom(netip.MustParseAddr(ev["host"].(string)), uint16(ev["port"].(float64)))
		j.id = ev["id"].(string)
	case <-time.After(15 * time.Second):
		t.Fatal("node.js: no listening event in 15 s")
	}
	return j
}

func (j *jsNode) stop(cmd *exec.Cmd) {
	j.stdin.Close() // node.js exits when its stdin ends
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func (j *jsNode) read(r io.Reader, first chan jsEvent) {
	defer close(j.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev jsEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue
		}
		if ev["event"] == "listening" {
			first <- ev
			continue
		}
		if id, ok := ev["id"].(float64); ok && (ev["event"] == "result" || ev["event"] == "done") {
			j.mu.Lock()
			ch := j.waits[int(id)]
			j.mu.Unlock()
			if ch != nil {
				ch <- ev
			}
			continue
		}
		select {
		case j.events <- ev:
		default:
		}
	}
}

// call runs a command and returns its result lines and its done line.
func (j *jsNode) call(cmd map[string]any, timeout time.Duration) ([]jsEvent, jsEvent) {
	j.t.Helper()
	return j.wait(j.send(cmd), timeout)
}

// send starts a command and returns its id for wait.
func (j *jsNode) send(cmd map[string]any) int {
	j.t.Helper()
	j.mu.Lock()
	j.nextID++
	id := j.nextID
	j.waits[id] = make(chan jsEvent, 4096)
	j.mu.Unlock()
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	if _, err := j.stdin.Write(append(b, '\n')); err != nil {
		j.t.Fatalf("node.js command %v: %v", cmd, err)
	}
	return id
}

// wait returns the result lines and the done line of command id.
func (j *jsNode) wait(id int, timeout time.Duration) ([]jsEvent, jsEvent) {
	j.t.Helper()
	j.mu.Lock()
	ch := j.waits[id]
	j.mu.Unlock()
	var results []jsEvent
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-ch:
			if ev["event"] == "done" {
				return results, ev
			}
			results = append(results, ev)
		case <-j.exited:
			j.t.Fatalf("node.js exited during command %d", id)
		case <-deadline:
			j.t.Fatalf("node.js: command %d not done in %v", id, timeout)
		}
	}
}

// waitEvent waits for a node event of the given type.
func (j *jsNode) waitEvent(typ string, timeout time.Duration) jsEvent {
	j.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-j.events:
			if ev["event"] == typ {
				return ev
			}
		case <-j.exited:
			j.t.Fatalf("node.js exited waiting for %q", typ)
		case <-deadline:
			j.t.Fatalf("node.js: no %q in %v", typ, timeout)
		}
	}
}

func (j *jsNode) alive() bool {
	select {
	case <-j.exited:
		return false
	default:
		return true
	}
}

// jsPeers collects the host:port strings of every peer in results.
func jsPeers(results []jsEvent) map[string]bool {
	out := map[string]bool{}
	for _, r := range results {
		peers, _ := r["peers"].([]any)
		for _, p := range peers {
			m := p.(map[string]any)
			out[fmt.Sprintf("%s:%v", m["host"], m["port"])] = true
		}
	}
	return out
}
