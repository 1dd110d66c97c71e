//go:build unix

package dht

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// testHolepunch relays holepunches in both directions: Go punching a JS
// node through a JS referrer, JS punching an (ephemeral) Go node through a
// JS referrer, and JS punching JS through a Go referrer.
func testHolepunch(t *testing.T) {
	t.Parallel()
	relay := startJS(t, jsConfig{})
	boot := []string{relay.addr.String()}
	target := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
	var mu sync.Mutex
	var relayed []Event
	goRelay := listenT(t, Options{OnEvent: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		relayed = append(relayed, e)
	}})
	g := listenT(t, Options{Bootstrap: boot})

	t.Run("go-to-js-via-js", func(t *testing.T) {
		must(t, g.Holepunch(ctxT(t, 10*time.Second), target.addr, relay.addr))
		ev := relay.waitEvent("holepunch", 5*time.Second)
		if got := fmt.Sprint(ev["to"]); got != fmt.Sprint(map[string]any{"host": "127.0.0.1", "port": float64(target.addr.Port())}) {
			t.Fatalf("JS relay event %v", ev)
		}
	})
	t.Run("js-to-go-via-js", func(t *testing.T) {
		_, done := target.call(map[string]any{"cmd": "holepunch", "peer": addrOf(g).String(), "referrer": relay.addr.String()}, 10*time.Second)
		if done["error"] != nil {
			t.Fatalf("JS holepunch to ephemeral Go node: %v", done["error"])
		}
	})
	t.Run("js-to-js-via-go", func(t *testing.T) {
		_, done := target.call(map[string]any{"cmd": "holepunch", "peer": relay.addr.String(), "referrer": addrOf(goRelay).String()}, 10*time.Second)
		if done["error"] != nil {
			t.Fatalf("JS holepunch through Go relay: %v", done["error"])
		}
		mu.Lock()
		defer mu.Unlock()
		if len(relayed) == 0 || relayed[0].Type != EventHolepunch || relayed[0].From != target.addr || relayed[0].To != relay.addr {
			t.Fatalf("Go relay events %+v", relayed)
		}
	})
}

// testRemoteAddress: with two persistent nodes the tally has too few
// samples; with three, both the Go and the JS node report their address
// and holepunchable.
func testRemoteAddress(t *testing.T) {
	t.Parallel()
	t.Run("go-among-js", func(t *testing.T) {
		seed := startJS(t, jsConfig{})
		boot := []string{seed.addr.String()}
		second := startJS(t, jsConfig{Bootstrap: boot})
		second.waitEvent("ready", 10*time.Second)
		g := listenT(t, Options{Bootstrap: boot})
		must(t, g.Bootstrap(ctxT(t, 10*time.Second)))
		if st := g.Status(); st.Holepunchable || st.RemoteAddress.IsValid() || st.Nodes != 2 {
			t.Fatalf("with two persistent nodes: %+v", st)
		}
		third := startJS(t, jsConfig{Bootstrap: boot})
		third.waitEvent("ready", 10*time.Second)
		must(t, g.Bootstrap(ctxT(t, 10*time.Second)))
		if st := g.Status(); !st.Holepunchable || st.RemoteAddress != addrOf(g) || st.Nodes != 3 {
			t.Fatalf("with three persistent JS nodes: %+v, want %s", st, addrOf(g))
		}
	})
	t.Run("js-among-go", func(t *testing.T) {
		seed := listenT(t, Options{Persistent: true})
		must(t, seed.Bootstrap(ctxT(t, time.Second)))
		boot := []string{addrOf(seed).String()}
		for range 2 {
			n := listenT(t, Options{Persistent: true, Bootstrap: boot})
			must(t, n.Bootstrap(ctxT(t, 10*time.Second)))
		}
		j := startJS(t, jsConfig{Bootstrap: boot, Ephemeral: true})
		j.waitEvent("ready", 10*time.Second)
		_, st := j.call(map[string]any{"cmd": "status"}, 5*time.Second)
		want := map[string]any{"host": "127.0.0.1", "port": float64(j.addr.Port())}
		if st["holepunchable"] != true || fmt.Sprint(st["remoteAddress"]) != fmt.Sprint(want) || st["nodes"] != float64(3) {
			t.Fatalf("JS node among three persistent Go nodes: %v, want %v", st, want)
		}
	})
}
