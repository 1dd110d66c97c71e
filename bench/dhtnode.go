package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// dhtNode is a running `hsp dht`: the bootstrap node of a DHT workload's
// hsp run, alone in its network (a seed) on 127.0.0.1.
type dhtNode struct {
	cmd    *exec.Cmd
	addr   string // HOST:PORT, what the daemons get as --bootstrap
	stderr bytes.Buffer
	exited chan struct{}

	mu     sync.Mutex
	events map[string]int // the node's event lines by type ("announce", "lookup", ...)
}

// dhtListening is the first line of `hsp dht --json`.
type dhtListening struct {
	Type       string `json:"type"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	Persistent bool   `json:"persistent"`
}

// check tells whether the line is that of a persistent seed on 127.0.0.1.
func (l dhtListening) check() error {
	if l.Type != "listening" || l.Host != "127.0.0.1" || l.Port == 0 || !l.Persistent {
		return fmt.Errorf("want a persistent node listening on 127.0.0.1, got %+v", l)
	}
	return nil
}

// startDHTNode starts `hsp dht --host 127.0.0.1 --port 0 --bootstrap none
// --json` (none: whatever $HSP_BOOTSTRAP says, it joins no other network)
// and returns once it listens. Its event lines are counted by type.
func startDHTNode(ctx context.Context, bin string) (*dhtNode, error) {
	n := &dhtNode{exited: make(chan struct{}), events: map[string]int{}}
	n.cmd = exec.Command(bin, "dht", "--host", "127.0.0.1", "--port", "0", "--bootstrap", "none", "--json")
	n.cmd.Stderr = &n.stderr
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start hsp dht: %w", err)
	}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hsp dht: %w", err)
	}
	line, err := firstLine(ctx, out, 30*time.Second, n.count, func() { n.cmd.Wait(); close(n.exited) })
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("hsp dht: not listening: %w", err)
	}
	var l dhtListening
	err = json.Unmarshal([]byte(line), &l)
	if err == nil {
		err = l.check()
	}
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("hsp dht: %q: %w: %s", line, err, tail(n.stderr.String(), 1000))
	}
	n.addr = net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
	return n, nil
}

func (n *dhtNode) count(line []byte) {
	var ev struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(line, &ev) == nil {
		n.mu.Lock()
		n.events[ev.Type]++
		n.mu.Unlock()
	}
}

// stop ends the node with SIGTERM (SIGKILL after 10 s).
func (n *dhtNode) stop() error {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("stop hsp dht %d: killed after 10 s", n.cmd.Process.Pid)
	}
	if st := n.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("hsp dht %d: %s: %s", n.cmd.Process.Pid, st, tail(n.stderr.String(), 1000))
	}
	return nil
}
