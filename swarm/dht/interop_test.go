//go:build unix

package dht

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"
)

func randomTopic() [32]byte {
	var t [32]byte
	rand.Read(t[:])
	return t
}

func hexTopic(t [32]byte) string { return hex.EncodeToString(t[:]) }

func hasPeer(results []Result, want string) bool {
	for _, r := range results {
		for _, p := range r.Peers {
			if p.String() == want {
				return true
			}
		}
	}
	return false
}

// TestJSInterop runs hsp nodes against real JS @hyperswarm/dht 4 nodes.
func TestJSInterop(t *testing.T) {
	requireJS(t)
	t.Run("go-announces-js-looks-up", testGoAnnounceJSLookup)
	t.Run("js-announces-go-looks-up", testJSAnnounceGoLookup)
	t.Run("js-bootstraps-from-go", testJSBootstrapFromGo)
	t.Run("go-bootstraps-from-js", testGoBootstrapFromJS)
	t.Run("holepunch", testHolepunch)
	t.Run("remote-address", testRemoteAddress)
}

func testGoAnnounceJSLookup(t *testing.T) {
	t.Parallel()
	seed := startJS(t, jsConfig{})
	boot := []string{seed.addr.String()}
	g := listenT(t, Options{Bootstrap: boot})
	must(t, g.Bootstrap(ctxT(t, 10*time.Second)))
	topic := randomTopic()
	_, err := g.Announce(ctxT(t, 15*time.Second), topic, PeersOptions{}).Wait()
	must(t, err)
	ev := seed.waitEvent("announce", 5*time.Second)
	if ev["topic"] != hexTopic(topic) {
		t.Fatalf("JS seed saw announce %v", ev)
	}
	looker := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	results, done := looker.call(map[string]any{"cmd": "lookup", "topic": hexTopic(topic)}, 15*time.Second)
	if done["error"] != nil {
		t.Fatalf("JS lookup: %v", done["error"])
	}
	if want := addrOf(g).String(); !jsPeers(results)[want] {
		t.Fatalf("JS lookup found %v, want %s", jsPeers(results), want)
	}
	must(t, g.Unannounce(ctxT(t, 15*time.Second), topic, PeersOptions{}))
	seed.waitEvent("unannounce", 5*time.Second)
	results, _ = looker.call(map[string]any{"cmd": "lookup", "topic": hexTopic(topic)}, 15*time.Second)
	if jsPeers(results)[addrOf(g).String()] {
		t.Fatalf("JS lookup still finds %s after unannounce", addrOf(g))
	}
}

// testJSAnnounceGoLookup also has a persistent Go node store the JS
// announce (so the JS UPDATE carried a Go token) and answer the lookup.
func testJSAnnounceGoLookup(t *testing.T) {
	t.Parallel()
	seed := startJS(t, jsConfig{})
	boot := []string{seed.addr.String()}
	store := listenT(t, Options{Persistent: true, Bootstrap: boot})
	must(t, store.Bootstrap(ctxT(t, 10*time.Second)))
	ann := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	topic := randomTopic()
	if _, done := ann.call(map[string]any{"cmd": "announce", "topic": hexTopic(topic)}, 15*time.Second); done["error"] != nil {
		t.Fatalf("JS announce: %v", done["error"])
	}
	g := listenT(t, Options{Bootstrap: boot})
	results, err := g.Lookup(ctxT(t, 15*time.Second), topic, PeersOptions{}).Wait()
	must(t, err)
	want := ann.addr.String()
	if !hasPeer(results, want) {
		t.Fatalf("Go lookup found %+v, want %s", results, want)
	}
	fromStore := false
	for _, r := range results {
		if r.Node.Addr == addrOf(store) && r.Node.ID == store.ID() && hasPeer([]Result{r}, want) {
			fromStore = true
		}
	}
	if !fromStore {
		t.Fatalf("the persistent Go node did not answer with the JS record: %+v", results)
	}
	if !seed.alive() || !ann.alive() {
		t.Fatal("a JS node died")
	}
}

// testJSBootstrapFromGo: two JS nodes whose only bootstrap is a Go seed
// find each other's announce through it.
func testJSBootstrapFromGo(t *testing.T) {
	t.Parallel()
	seed := listenT(t, Options{Persistent: true})
	must(t, seed.Bootstrap(ctxT(t, time.Second)))
	boot := []string{addrOf(seed).String()}
	a := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	b := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	a.waitEvent("ready", 10*time.Second)
	b.waitEvent("ready", 10*time.Second)
	p := startJS(t, jsConfig{Bootstrap: boot}) // persistent: enters the Go table
	p.waitEvent("ready", 10*time.Second)
	if seed.Status().Nodes < 1 {
		t.Fatalf("Go seed table: %+v", seed.Status())
	}
	topic := randomTopic()
	if _, done := a.call(map[string]any{"cmd": "announce", "topic": hexTopic(topic)}, 15*time.Second); done["error"] != nil {
		t.Fatalf("JS announce via Go seed: %v", done["error"])
	}
	results, done := b.call(map[string]any{"cmd": "lookup", "topic": hexTopic(topic)}, 15*time.Second)
	if done["error"] != nil || !jsPeers(results)[a.addr.String()] {
		t.Fatalf("JS lookup via Go seed: %v, peers %v, want %s", done["error"], jsPeers(results), a.addr)
	}
	var fromGo bool
	for _, r := range results {
		n := r["node"].(map[string]any)
		fromGo = fromGo || n["id"] == seed.ID().String()
	}
	if !fromGo {
		t.Fatalf("no result came from the Go seed: %v", results)
	}
}

func testGoBootstrapFromJS(t *testing.T) {
	t.Parallel()
	seed := startJS(t, jsConfig{})
	g := listenT(t, Options{Bootstrap: []string{seed.addr.String()}})
	if g.Status().Bootstrapped {
		t.Fatal("bootstrapped before any bootstrap")
	}
	must(t, g.Bootstrap(ctxT(t, 10*time.Second)))
	st := g.Status()
	if !st.Bootstrapped || st.Nodes != 1 {
		t.Fatalf("status after bootstrap from JS: %+v", st)
	}
	if g.Nodes()[0].Addr != seed.addr || g.Nodes()[0].ID.String() != seed.id {
		t.Fatalf("table %v, want the JS seed %s %s", g.Nodes(), seed.id, seed.addr)
	}
	// A persistent Go node enters the JS seed's table.
	p := listenT(t, Options{Persistent: true, Bootstrap: []string{seed.addr.String()}})
	must(t, p.Bootstrap(ctxT(t, 10*time.Second)))
	_, done := seed.call(map[string]any{"cmd": "status"}, 5*time.Second)
	if done["nodes"].(float64) < 1 {
		t.Fatalf("JS seed status %v", done)
	}
}
