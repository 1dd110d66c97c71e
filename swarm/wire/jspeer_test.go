//go:build unix

package wire

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/core"

	"github.com/hspd/hsp/internal/nodejs"
)

// The live tests run testdata/jspeer/peer.js, a real hypercore 9.12.0 /
// hypercore-protocol 8.0.7 peer, installed from its package-lock.json by
// `npm ci` on first use. Without node they fail when CI is set and skip
// with a message otherwise.

const jsPeerDir = "testdata/jspeer"

// requireJSPeer makes sure node and the peer's packages are there.
func requireJSPeer(t *testing.T) { nodejs.Require(t, jsPeerDir, "live JS peer test") }

// jsPeer is a running peer.js.
type jsPeer struct {
	events chan map[string]any
	ready  map[string]any
}

func startJSPeer(t *testing.T, args ...string) *jsPeer {
	t.Helper()
	cmd := exec.Command("node", append([]string{"peer.js"}, args...)...)
	cmd.Dir = jsPeerDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close() // peer.js exits when its stdin ends
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	p := &jsPeer{events: make(chan map[string]any, 16)}
	go p.read(t, stdout)
	p.ready = p.waitEvent(t, "ready")
	return p
}

func (p *jsPeer) read(t *testing.T, r io.Reader) {
	defer close(p.events)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("peer.js printed %q", sc.Text())
			continue
		}
		p.events <- ev
	}
}

// waitEvent returns the next event of peer.js, which must be called name
// (any name when name is empty).
func (p *jsPeer) waitEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	select {
	case ev, ok := <-p.events:
		if !ok {
			t.Fatalf("peer.js ended before %q", name)
		}
		if name != "" && ev["event"] != name {
			t.Fatalf("peer.js: %v, want %q", ev, name)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("peer.js: no %q in 10 s", name)
	}
	return nil
}

func (p *jsPeer) key(t *testing.T, field string) [32]byte {
	s, _ := p.ready[field].(string)
	return key32(t, s)
}

// connectJS starts peer.js in the role opposite to ours and returns the
// connected stream, handshake done, with the daemon identity of master.
func connectJS(t *testing.T, goInitiator bool, master [32]byte, cfg Config, args ...string) (*Stream, *jsPeer) {
	t.Helper()
	args = append(args, "--master", hex.EncodeToString(master[:]))
	var conn net.Conn
	var p *jsPeer
	if goInitiator {
		p = startJSPeer(t, append(args, "--listen")...)
		port := strconv.Itoa(int(p.ready["port"].(float64)))
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 5*time.Second)
		must(t, err)
		conn = c
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		defer ln.Close()
		p = startJSPeer(t, append(args, "--connect", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))...)
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		conn, err = ln.Accept()
		must(t, err)
	}
	cfg.Initiator, cfg.KeyPair = goInitiator, ReplicationKeyPair(master)
	s := NewStream(conn, cfg)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, s.Handshake(ctx))
	return s, p
}

// TestJSPeer replicates against a real JS hypercore 9 in both roles: the
// handshake, the daemon identity as JS sees it, a channel opened with the
// right capability (Status and Have from JS decoded), the stream extension
// round trip, and JS closing the stream on a wrong capability.
func TestJSPeer(t *testing.T) {
	requireJSPeer(t)
	for _, goInitiator := range []bool{true, false} {
		role := map[bool]string{true: "go-initiator", false: "go-responder"}[goInitiator]
		t.Run(role+"/capability", func(t *testing.T) { testJSChannel(t, goInitiator) })
		t.Run(role+"/wrong-capability", func(t *testing.T) { testJSWrongCapability(t, goInitiator) })
		t.Run(role+"/keep-alive", func(t *testing.T) { testJSKeepAlive(t, goInitiator) })
	}
}

func testJSChannel(t *testing.T, goInitiator bool) {
	var master [32]byte
	for i := range master {
		master[i] = byte(0x40 + i)
	}
	s, p := connectJS(t, goInitiator, master, Config{})
	if s.RemotePublicKey() != p.key(t, "noisePublicKey") {
		t.Errorf("remote public key %x, JS has %v", s.RemotePublicKey(), p.ready["noisePublicKey"])
	}
	hs := p.waitEvent(t, "handshake")
	if want := p.key(t, "expectedReplicationKey"); s.PublicKey() != want || hs["remotePublicKey"] != hex.EncodeToString(want[:]) {
		t.Errorf("JS sees %v; Hyperspace would derive %x; we are %x", hs["remotePublicKey"], want, s.PublicKey())
	}

	ch, err := s.OpenChannel(core.Key(p.key(t, "key")))
	must(t, err)
	if ch.DiscoveryKey() != core.DiscoveryKey(p.key(t, "discoveryKey")) {
		t.Errorf("discovery key %v, JS has %v", ch.DiscoveryKey(), p.ready["discoveryKey"])
	}
	wantEvents(t, s, Event{Kind: EventChannelReady, Channel: ch},
		Event{Kind: EventMessage, Channel: ch, Message: Status{Uploading: Bool(true), Downloading: Bool(false)}})

	must(t, ch.Send(Want{Start: 0, Length: Uint64(1 << 20)}))
	wantEvents(t, s, Event{Kind: EventMessage, Channel: ch, Message: Have{Start: 20}},
		Event{Kind: EventMessage, Channel: ch, Message: Have{Start: 0, Length: Uint64(1 << 20), Bitfield: unhex(t, "0b02f8")}})

	must(t, s.Send(Options{Extensions: []string{"hsp-echo"}}))
	must(t, s.Send(Extension{ID: 0, Payload: []byte("hello")}))
	if ev := p.waitEvent(t, "extension"); ev["payload"] != hex.EncodeToString([]byte("hello")) {
		t.Errorf("JS got extension %v", ev)
	}
	wantEvents(t, s, Event{Kind: EventMessage, Message: Options{Extensions: []string{"hsp-echo"}}},
		Event{Kind: EventMessage, Message: Extension{ID: 0, Payload: []byte("hello")}})

	must(t, ch.Close())
	must(t, s.Close())
	// Closing with JS's reply Close{} unread may reset the connection.
	if ev := p.waitEvent(t, ""); ev["event"] == "error" {
		p.waitEvent(t, "closed")
	} else if ev["event"] != "closed" {
		t.Errorf("peer.js: %v after the close", ev)
	}
}

func testJSWrongCapability(t *testing.T, goInitiator bool) {
	s, p := connectJS(t, goInitiator, [32]byte{1}, Config{})
	p.waitEvent(t, "handshake")
	openWithCapability(t, s, core.Key(p.key(t, "key")), make([]byte, 32))
	if ev := p.waitEvent(t, "error"); ev["message"] != "Invalid remote channel capability" {
		t.Errorf("JS error %v", ev)
	}
	p.waitEvent(t, "closed")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := s.Recv(ctx)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("stream ended with %v, want EOF or a reset", err)
			}
			t.Logf("JS closed the stream: %v", err)
			return
		}
		if ev.Kind == EventChannelReady || ev.Kind == EventMessage {
			continue // JS's own Open (and Status) may come first
		}
		t.Errorf("unexpected event %+v", ev)
	}
}

// testJSKeepAlive runs JS with a 1 s timeout (keep-alives every 500 ms) and
// Go with 200 ms keep-alives and a 2 s timeout: 2.5 idle seconds later
// neither side has timed out. Then Go stops sending and JS drops it.
func testJSKeepAlive(t *testing.T, goInitiator bool) {
	s, p := connectJS(t, goInitiator, [32]byte{2}, Config{KeepAlive: 200 * time.Millisecond, Timeout: 2 * time.Second}, "--timeout", "1000")
	p.waitEvent(t, "handshake")
	ch, err := s.OpenChannel(core.Key(p.key(t, "key")))
	must(t, err)
	wantKind(t, s, EventChannelReady)
	wantKind(t, s, EventMessage) // Status
	time.Sleep(2500 * time.Millisecond)
	must(t, ch.Send(Want{Start: 0, Length: Uint64(1 << 20)}))
	wantEvents(t, s, Event{Kind: EventMessage, Channel: ch, Message: Have{Start: 20}})

	s.wmu.Lock() // go silent: the keep-alive timer waits for the writer
	defer s.wmu.Unlock()
	if ev := p.waitEvent(t, "error"); ev["message"] != "ETIMEDOUT" {
		t.Errorf("JS error %v", ev)
	}
	p.waitEvent(t, "closed")
}
