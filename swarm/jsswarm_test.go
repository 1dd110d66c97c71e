//go:build cgo && unix

package swarm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/internal/nodejs"
	"github.com/hspd/hsp/swarm/wire"
)

// The JS interop tests run dht/testdata/jsdht/protopeer.js: a hyperswarm
// 2.15.3 peer that runs hypercore-protocol 8.0.7 on each connection, as
// Hyperspace 3 does. Installed from its package-lock.json by `npm ci` on
// first use; without node they fail when CI is set and skip otherwise.

const jsSwarmDir = "dht/testdata/jsdht"

// jsPeer is a running protopeer.js.
type jsPeer struct {
	t       *testing.T
	stdin   io.WriteCloser
	events  chan map[string]any
	backlog []map[string]any
}

func startJSPeer(t *testing.T, cfg map[string]any) *jsPeer {
	t.Helper()
	nodejs.Require(t, jsSwarmDir, "JS hyperswarm interop test")
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command("node", "protopeer.js", string(arg))
	cmd.Dir = jsSwarmDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	p := &jsPeer{t: t, stdin: stdin, events: make(chan map[string]any, 1000)}
	done := make(chan struct{})
	t.Cleanup(func() {
		stdin.Close() // the script leaves the topic and exits
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	go func() {
		defer close(done)
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
	}()
	return p
}

// await returns the first event not returned yet named event.
func (p *jsPeer) await(event string) map[string]any {
	p.t.Helper()
	for i, ev := range p.backlog {
		if ev["event"] == event {
			p.backlog = append(p.backlog[:i], p.backlog[i+1:]...)
			return ev
		}
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-p.events:
			if !open {
				p.t.Fatalf("the JS peer exited before %q", event)
			}
			if ev["event"] == event {
				return ev
			}
			p.backlog = append(p.backlog, ev)
		case <-deadline:
			p.t.Fatalf("no %q from the JS peer in 20 s (got %v)", event, p.backlog)
		}
	}
}

// TestJSHyperswarmOverUTP: a Go swarm that neither listens on nor dials
// TCP meets a JS hyperswarm 2 peer through a Go DHT seed, both ways: the
// JS peer finds the Go swarm and connects (its TCP refused, its uTP after
// a holepunch relayed by the seed), and the Go swarm finds the JS peer and
// connects (Connect, uTP after the holepunch). Either way the
// hypercore-protocol 8 handshake completes over uTP, the JS side's core
// opens and its Have and 1 MiB of Data reach the Go handler, whose Have
// reaches JS.
func TestJSHyperswarmOverUTP(t *testing.T) {
	for _, goDials := range []bool{false, true} {
		name := map[bool]string{false: "js dials", true: "go dials"}[goDials]
		t.Run(name, func(t *testing.T) { testJSOver(t, TransportUTP, goDials) })
	}
}

// TestJSHyperswarmTCP is TestJSHyperswarmOverUTP over TCP: the Go swarm
// listens on and dials TCP, the JS peer dials the peers it finds over TCP
// alone (tcpOnly: no holepunch, so no uTP to race), and the Go swarm
// connects without a referrer (TCP alone too).
func TestJSHyperswarmTCP(t *testing.T) {
	for _, goDials := range []bool{false, true} {
		name := map[bool]string{false: "js dials", true: "go dials"}[goDials]
		t.Run(name, func(t *testing.T) { testJSOver(t, TransportTCP, goDials) })
	}
}

func testJSOver(t *testing.T, transport string, goDials bool) {
	const blocks, blockSize = 16, 64 << 10
	utp := transport == TransportUTP
	seed := dhtSeed(t)
	key := testKey(9)
	got := make(chan error, 1)
	handler := func(ctx context.Context, st *wire.Stream, c Conn) error {
		got <- serveJS(ctx, st, key, blocks, blockSize)
		<-ctx.Done()
		return nil
	}
	s := newSwarm(t, Options{NoTCP: utp, DHT: testDHT(seed), Handler: handler, ConnectTimeout: 10 * time.Second})
	start(t, s)
	waitBootstrapped(t, s)
	var topic [32]byte
	rand.Read(topic[:])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !goDials { // before the JS lookup, which hyperswarm repeats only minutes later
		for range s.Discovery().Announce(ctx, topic, 0).Found() {
		}
	}
	js := startJSPeer(t, map[string]any{"bootstrap": []string{seed}, "topic": hex.EncodeToString(topic[:]),
		"announce": goDials, "lookup": !goDials, "key": hex.EncodeToString(key[:]),
		"blocks": blocks, "blockSize": blockSize, "tcpOnly": !utp})
	js.await("listening")
	if goDials {
		js.await("joined")
		f := announcedBy(t, s, topic)
		referrer := f.Referrer
		if !utp {
			referrer = netip.AddrPort{} // TCP alone
		}
		c, err := s.Connect(ctx, f.Addr, referrer)
		must(t, err)
		if c.Transport != transport {
			t.Fatalf("connected over %q", c.Transport)
		}
	}
	conn := js.await("connection")
	if conn["type"] != transport || conn["socketType"] != transport || conn["client"] != !goDials {
		t.Fatalf("the JS peer's connection: %v", conn)
	}
	hs := js.await("handshake")
	select {
	case err := <-got:
		must(t, err)
	case <-ctx.Done():
		t.Fatal("the Go handler did not finish its exchange")
	}
	conns := s.Conns()
	if len(conns) != 1 || conns[0].Transport != transport || conns[0].Initiator != goDials {
		t.Fatalf("Conns() = %+v", conns)
	}
	if hs["remotePublicKey"] != hex.EncodeToString(s.opts.KeyPair.Public[:]) {
		t.Errorf("JS saw the remote key %v", hs["remotePublicKey"])
	}
	if have := js.await("have"); have["start"] != 1.0 || have["length"] != 7.0 {
		t.Errorf("JS received %v, want Have{1, 7}", have)
	}
	t.Logf("over %s: JS %v, Go %+v", conns[0].Transport, conn, conns[0])
}

// announcedBy returns the one peer s's lookup of topic finds.
func announcedBy(t *testing.T, s *Swarm, topic [32]byte) Found {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		l := s.Discovery().Lookup(ctx, topic)
		var got []Found
		for f := range l.Found() {
			got = append(got, f)
		}
		if len(got) == 1 {
			return got[0]
		}
		if ctx.Err() != nil || len(got) > 1 {
			t.Fatalf("lookup found %+v (%v)", got, l.Err())
		}
		time.Sleep(100 * time.Millisecond) // the JS announce may still be on its way
	}
}

// serveJS opens key on st, waits for the JS side's Have and its blocks
// (block i filled with i%256), and answers with Have{1, 7}.
func serveJS(ctx context.Context, st *wire.Stream, key core.Key, blocks, blockSize int) error {
	ch, err := st.OpenChannel(key)
	if err != nil {
		return err
	}
	seen := 0
	for seen < blocks {
		ev, err := st.Recv(ctx)
		if err != nil {
			return err
		}
		if ev.Kind != wire.EventMessage {
			continue
		}
		switch m := ev.Message.(type) {
		case wire.Have:
			if m.Start != 0 || m.Length.Or(1) != uint64(blocks) {
				return fmt.Errorf("JS sent %+v, want Have{0, %d}", m, blocks)
			}
		case wire.Data:
			if m.Index != uint64(seen) || !bytes.Equal(m.Value, bytes.Repeat([]byte{byte(seen)}, blockSize)) {
				return fmt.Errorf("block %d: index %d, %d bytes", seen, m.Index, len(m.Value))
			}
			seen++
		}
	}
	return ch.Send(wire.Have{Start: 1, Length: wire.Uint64(7)})
}
