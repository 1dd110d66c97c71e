//go:build unix

package replicate

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"

	"github.com/hspd/hsp/internal/nodejs"
)

// The interop tests run testdata/jspeer/peer.js, a real hypercore 9.12.0
// peer, installed from the pinned package-lock.json (a copy of
// shared/js/hypercore9's) by `npm ci` on first use, as swarm/wire's live
// tests do. Without node they fail when CI is set and skip otherwise.

const jsPeerDir = "testdata/jspeer"

func requireJSPeer(t *testing.T) { nodejs.Require(t, jsPeerDir, "JS interop test") }

// jsPeer is a running peer.js.
type jsPeer struct {
	events   chan map[string]any
	stdin    io.Writer
	ready    map[string]any
	received atomic.Int64 // bytes we read from it
}

// countConn counts the bytes read from a connection.
type countConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func startJSPeer(t *testing.T, args ...string) *jsPeer {
	t.Helper()
	cmd := exec.Command("node", append([]string{"peer.js"}, args...)...)
	cmd.Dir = jsPeerDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	p := &jsPeer{events: make(chan map[string]any, 64), stdin: stdin}
	go p.read(t, stdout)
	p.ready = p.waitEvent(t, "ready", 20*time.Second)
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

// waitEvent returns the next event called name, skipping "handshake";
// an error or the end of peer.js fails the test.
func (p *jsPeer) waitEvent(t *testing.T, name string, d time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-p.events:
			switch {
			case !ok:
				t.Fatalf("peer.js ended before %q", name)
			case ev["event"] == name:
				return ev
			case ev["event"] == "handshake":
				continue
			}
			t.Fatalf("peer.js: %v, want %q", ev, name)
		case <-deadline:
			t.Fatalf("peer.js: no %q in %v", name, d)
		}
	}
}

func (p *jsPeer) send(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func (p *jsPeer) key(t *testing.T) core.Key {
	k, err := core.ParseKey(p.ready["key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// connectJS starts peer.js in the role opposite to ours and returns our
// stream, handshake done.
func connectJS(t *testing.T, goInitiator bool, args ...string) (*wire.Stream, *jsPeer) {
	t.Helper()
	var conn net.Conn
	var p *jsPeer
	if goInitiator {
		p = startJSPeer(t, append(args, "--listen")...)
		port := strconv.Itoa(int(p.ready["port"].(float64)))
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p = startJSPeer(t, append(args, "--connect", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))...)
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
		if conn, err = ln.Accept(); err != nil {
			t.Fatal(err)
		}
	}
	kp, _ := wire.GenerateKeyPair(rand.Reader)
	s := wire.NewStream(BufferedConn(&countConn{Conn: conn, read: &p.received}), wire.Config{Initiator: goInitiator, KeyPair: kp})
	t.Cleanup(func() { s.Close() })
	if err := s.Handshake(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// runJS runs r on s until the test ends.
func runJS(t *testing.T, r *Replicator, s *wire.Stream) chan error {
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background(), s) }()
	return errc
}

var roles = map[bool]string{true: "go-initiator", false: "go-responder"}

// TestJSToGo: hsp downloads a 10,000-block core from JS (in both roles),
// then gets a live append within 2 s and trades extension messages.
func TestJSToGo(t *testing.T) {
	requireJSPeer(t)
	for _, goInitiator := range []bool{true, false} {
		t.Run(roles[goInitiator], func(t *testing.T) {
			const n = 10000
			s, p := connectJS(t, goInitiator, "--blocks", strconv.Itoa(n))
			got := make(chan string, 4)
			o := fastOptions()
			o.Extensions = []string{"hsp-echo"}
			o.OnExtension = func(_ PeerInfo, _ core.DiscoveryKey, _ string, payload []byte) { got <- string(payload) }
			r := newReplicator(t, o)
			c := newReader(t, p.key(t))
			h := r.Add(c, CoreOptions{})
			runJS(t, r, s)
			start := time.Now()
			if err := h.Download(within(t, 60*time.Second), 0, n); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d blocks from JS in %v", n, time.Since(start))
			checkBlocks(t, c, 0, n)
			st := h.Stats()
			if st.DownloadedBlocks != n || st.Duplicates != 0 {
				t.Fatalf("stats %+v", st)
			}
			// Digests keep proofs small: JS sends ~5% over the data to a
			// digest-using reader, ~75% more to one that sends digest 0.
			recv := p.received.Load()
			t.Logf("received %d bytes for %d bytes of blocks (%.1f%% more)", recv, st.DownloadedBytes, 100*float64(recv-int64(st.DownloadedBytes))/float64(st.DownloadedBytes))
			if recv > int64(st.DownloadedBytes)*5/4 {
				t.Errorf("received %d bytes for %d bytes of blocks: proofs too large", recv, st.DownloadedBytes)
			}

			start = time.Now()
			p.send(t, map[string]any{"cmd": "append", "n": 5})
			if err := h.Download(within(t, 2*time.Second), n, n+5); err != nil {
				t.Fatal(err)
			}
			t.Logf("live append from JS arrived in %v", time.Since(start))
			checkBlocks(t, c, n, n+5)
			p.waitEvent(t, "appended", 5*time.Second)

			if err := h.SendExtension("hsp-echo", []byte("hello js")); err != nil {
				t.Fatal(err)
			}
			if ev := p.waitEvent(t, "extension", 5*time.Second); ev["payload"] != hex.EncodeToString([]byte("hello js")) {
				t.Fatalf("JS got extension %v", ev)
			}
			p.send(t, map[string]any{"cmd": "ext", "payload": hex.EncodeToString([]byte("hello go"))})
			for _, want := range []string{"hello js", "hello go"} { // JS echoes ours first
				select {
				case m := <-got:
					if m != want {
						t.Fatalf("extension %q, want %q", m, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no extension %q from JS", want)
				}
			}
		})
	}
}

// TestGoToJS: a JS peer downloads a 10,000-block core from hsp (in both
// roles) and then a live append.
func TestGoToJS(t *testing.T) {
	requireJSPeer(t)
	for _, goInitiator := range []bool{true, false} {
		t.Run(roles[goInitiator], func(t *testing.T) { testGoToJS(t, goInitiator) })
	}
}

func testGoToJS(t *testing.T, goInitiator bool) {
	const n = 10000
	w := newWriter(t, n)
	s, p := connectJS(t, goInitiator, "--key", w.Key().String())
	r := newReplicator(t, fastOptions())
	h := r.Add(w, CoreOptions{})
	runJS(t, r, s)
	start := time.Now()
	p.send(t, map[string]any{"cmd": "wait", "start": 0, "end": n})
	if ev := p.waitEvent(t, "verified", 60*time.Second); ev["bad"].(float64) != 0 {
		t.Fatalf("JS verified %v", ev)
	}
	t.Logf("JS downloaded %d blocks from hsp in %v", n, time.Since(start))
	if st := h.Stats(); st.UploadedBlocks < n {
		t.Fatalf("uploaded %+v", st)
	}
	start = time.Now()
	appendBlocks(t, w, 5, 1)
	p.send(t, map[string]any{"cmd": "wait", "start": n, "end": n + 5})
	if ev := p.waitEvent(t, "verified", 2*time.Second); ev["bad"].(float64) != 0 {
		t.Fatalf("JS verified %v", ev)
	}
	t.Logf("live append reached JS in %v", time.Since(start))
}

// TestJSSparse: a sparse range each way.
func TestJSSparse(t *testing.T) {
	requireJSPeer(t)
	t.Run("go-reader", func(t *testing.T) {
		s, p := connectJS(t, true, "--blocks", "3000")
		r := newReplicator(t, fastOptions())
		c := newReader(t, p.key(t))
		h := r.Add(c, CoreOptions{Sparse: true})
		runJS(t, r, s)
		ctx := within(t, 20*time.Second)
		if err := h.Download(ctx, 1000, 1100); err != nil {
			t.Fatal(err)
		}
		checkBlocks(t, c, 1000, 1100)
		if b, err := h.Get(ctx, 2999); err != nil || string(b) != string(block(2999)) {
			t.Fatalf("get 2999: %v", err)
		}
		if got, _ := c.Downloaded(ctx, 0, 3000); got != 101 {
			t.Fatalf("sparse reader holds %d blocks, want 101", got)
		}
	})
	t.Run("js-reader", func(t *testing.T) {
		w := newWriter(t, 3000)
		s, p := connectJS(t, true, "--key", w.Key().String(), "--sparse")
		r := newReplicator(t, fastOptions())
		h := r.Add(w, CoreOptions{})
		runJS(t, r, s)
		p.send(t, map[string]any{"cmd": "wait", "start": 2000, "end": 2100})
		if ev := p.waitEvent(t, "verified", 20*time.Second); ev["bad"].(float64) != 0 {
			t.Fatalf("JS verified %v", ev)
		}
		if st := h.Stats(); st.UploadedBlocks != 100 {
			t.Fatalf("uploaded %d blocks to a sparse reader, want 100", st.UploadedBlocks)
		}
	})
}
