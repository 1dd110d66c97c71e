package replicate

import (
	"encoding/hex"
	"testing"
	"time"
)

// TestStreamExtension: stream-level (channel 0) extension messages both
// ways between two hsp replicators; a name the receiver does not know is
// dropped.
func TestStreamExtension(t *testing.T) {
	got := make(chan string, 4)
	oa := fastOptions()
	oa.StreamExtensions = []string{"zz-other", "hsp-stream"}
	oa.OnStreamExtension = func(_ PeerInfo, name string, payload []byte) { got <- "a:" + name + ":" + string(payload) }
	ob := fastOptions()
	ob.StreamExtensions = []string{"hsp-stream"}
	ob.OnStreamExtension = func(_ PeerInfo, name string, payload []byte) { got <- "b:" + name + ":" + string(payload) }
	ra, rb := newReplicator(t, oa), newReplicator(t, ob)
	w := newWriter(t, 5)
	ra.Add(w, CoreOptions{})
	connect(t, ra, rb, pipe)
	deadline := time.Now().Add(5 * time.Second)
	for len(ra.Peers()) == 0 || len(rb.Peers()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no peers")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ra.SendStreamExtension("nope", nil); err == nil {
		t.Fatal("unknown name sent")
	}
	ra.SendStreamExtension("zz-other", []byte("dropped"))
	ra.SendStreamExtension("hsp-stream", []byte("from a"))
	rb.SendStreamExtension("hsp-stream", []byte("from b"))
	want := map[string]bool{"b:hsp-stream:from a": true, "a:hsp-stream:from b": true}
	for range want {
		select {
		case m := <-got:
			if !want[m] {
				t.Fatalf("unexpected %q", m)
			}
			delete(want, m)
		case <-time.After(5 * time.Second):
			t.Fatalf("missing %v", want)
		}
	}
}

// TestJSStreamExtension: a stream-level extension message each way with
// JS hypercore-protocol 8 (JS echoes what it gets).
func TestJSStreamExtension(t *testing.T) {
	requireJSPeer(t)
	s, p := connectJS(t, true, "--blocks", "3")
	got := make(chan string, 4)
	o := fastOptions()
	o.StreamExtensions = []string{"hsp-stream"}
	o.OnStreamExtension = func(_ PeerInfo, _ string, payload []byte) { got <- string(payload) }
	r := newReplicator(t, o)
	h := r.Add(newReader(t, p.key(t)), CoreOptions{})
	runJS(t, r, s)
	if err := h.Download(within(t, 10*time.Second), 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := r.SendStreamExtension("hsp-stream", []byte("hello js")); err != nil {
		t.Fatal(err)
	}
	if ev := p.waitEvent(t, "stream-extension", 5*time.Second); ev["payload"] != hex.EncodeToString([]byte("hello js")) {
		t.Fatalf("JS got %v", ev)
	}
	p.send(t, map[string]any{"cmd": "sext", "payload": hex.EncodeToString([]byte("hello go"))})
	for _, want := range []string{"hello js", "hello go"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("stream extension %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no stream extension %q from JS", want)
		}
	}
}
