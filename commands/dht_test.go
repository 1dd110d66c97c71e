package commands

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/hspd/hsp/rpc"
)

func TestParseBootstrapList(t *testing.T) {
	good := map[string][]string{
		"":                      {},
		"127.0.0.1:49737":       {"127.0.0.1:49737"},
		" 10.0.0.1:1 ,, b:2 ":   {"10.0.0.1:1", "b:2"},
		"node-1.example.org:80": {"node-1.example.org:80"},
		"none":                  {},
		" none ":                {},
		"[::ffff:1.2.3.4]:5":    {"[::ffff:1.2.3.4]:5"},
	}
	for in, want := range good {
		got, err := parseBootstrapList(strings.Split(in, ","))
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") || got == nil {
			t.Errorf("parseBootstrapList(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"host", "4000", ":4000", "none,a:1", "host:", "host:0", "host:65536", "host:x", "[::1]:5", "a b:1", "a_b:1", "1.2.3.4:5:6"} {
		if got, err := parseBootstrapList([]string{in}); !isUsage(err) {
			t.Errorf("parseBootstrapList(%q) = %q, %v; want a usage error", in, got, err)
		}
	}
}

func isUsage(err error) bool { code, _ := classify(err); return err != nil && code == ExitUsage }

func TestDHTUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"dht", "--bootstrap", "127.0.0.1:1,nope:"},
		{"dht", "--port", "70000"},
		{"dht", "--port", "-1"},
		{"dht", "extra"},
	} {
		// (On 127.0.0.1 should one of them run a node after all.)
		if out, code := run(t, append(args, "--host", "127.0.0.1")...); code != ExitUsage || !strings.Contains(out, "usage: ") {
			t.Errorf("hsp %v exited %d, want 2:\n%s", args, code, out)
		}
	}
	t.Setenv("HSP_BOOTSTRAP", "[::1]:49737")
	if out, code := run(t, "dht", "--host", "127.0.0.1", "--port", "0"); code != ExitUsage || !strings.Contains(out, `--bootstrap: "[::1]:49737"`) {
		t.Errorf("a bad $HSP_BOOTSTRAP exited %d, want 2:\n%s", code, out)
	}
}

func TestDHTPortInUse(t *testing.T) {
	taken, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.LocalAddr().(*net.UDPAddr).Port)
	out, code := run(t, "dht", "--host", "127.0.0.1", "--port", port)
	if code != ExitError || !strings.Contains(out, "listen on UDP 127.0.0.1:"+port+": address already in use") || !strings.Contains(out, "--port") {
		t.Fatalf("a taken port exited %d, want 1:\n%s", code, out)
	}
	var stdout, stderr bytes.Buffer
	Main([]string{"hsp", "--json", "dht", "--host", "127.0.0.1", "--port", port}, &stdout, &stderr)
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), `{"type":"error"`) {
		t.Fatalf("--json, a taken port: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// TestPrintDHTRecord pins the text lines. (The records' JSON is
// docs/json.md's, checked in package rpc; dhtRecord, which needs
// swarm/dht, is checked end to end by the root package's TestCLIDHT*.)
func TestPrintDHTRecord(t *testing.T) {
	id := strings.Repeat("cd", 32)
	topic := strings.Repeat("ab", 32)
	cases := []struct {
		rec  any
		text string
	}{
		{rpc.DHTListening{Type: "listening", Host: "0.0.0.0", Port: 49737, ID: id, Persistent: true, Bootstrap: []string{}},
			"listening on 0.0.0.0:49737 · id " + id + " · persistent · seed\n"},
		{rpc.DHTListening{Type: "listening", Host: "127.0.0.1", Port: 1, ID: id, Bootstrap: []string{"a:1", "b:2"}},
			"listening on 127.0.0.1:1 · id " + id + " · ephemeral · bootstrap a:1,b:2\n"},
		{rpc.DHTTopicEvent{Type: "announce", Topic: topic, From: "127.0.0.1:4000"},
			"announce     " + topic + " from 127.0.0.1:4000\n"},
		{rpc.DHTTopicEvent{Type: "unannounce", Topic: topic, From: "127.0.0.1:4000"},
			"unannounce   " + topic + " from 127.0.0.1:4000\n"},
		{rpc.DHTTopicEvent{Type: "lookup", Topic: topic, From: "10.0.0.2:5000"},
			"lookup       " + topic + " from 10.0.0.2:5000\n"},
		{rpc.DHTHolepunchEvent{Type: "holepunch", From: "127.0.0.1:4000", To: "10.0.0.2:5000"},
			"holepunch    127.0.0.1:4000 → 10.0.0.2:5000\n"},
		{rpc.DHTNodesEvent{Type: "nodes", Change: "joined", NodeAddress: "10.0.0.2:5000", NodeID: id, Nodes: 1},
			"joined       10.0.0.2:5000 id " + id + " · 1 node\n"},
		{rpc.DHTNodesEvent{Type: "nodes", Change: "left", NodeAddress: "10.0.0.2:5000", NodeID: id, Nodes: 0},
			"left         10.0.0.2:5000 id " + id + " · 0 nodes\n"},
		{rpc.DHTBootstrapped{Type: "bootstrapped", Nodes: 2, Attempts: 1}, "bootstrapped · 2 nodes · 1 walk\n"},
		{rpc.DHTBootstrapped{Type: "bootstrapped", Nodes: 1, Attempts: 3}, "bootstrapped · 1 node · 3 walks\n"},
		{rpc.DHTDropped{Type: "dropped", Events: 7}, "dropped      7 events: the output could not keep up\n"},
	}
	out := newOutput(nil, nil)
	for _, c := range cases {
		var w bytes.Buffer
		printDHTRecord(out, &w, c.rec)
		if w.String() != c.text {
			t.Errorf("text of %+v:\n got %q\nwant %q", c.rec, w.String(), c.text)
		}
	}
}

// TestDHTEventsDrop: records that find the queue full are counted, and the
// count takes their place in the output, once there is room for it.
func TestDHTEventsDrop(t *testing.T) {
	ev := &dhtEvents{c: make(chan any, 2)}
	rec := func(i int) any { return rpc.DHTDropped{Type: "n", Events: i} } // any record will do
	ev.send(rec(1))
	ev.send(rec(2))
	ev.send(rec(3)) // dropped
	ev.send(rec(4)) // dropped
	<-ev.c          // rec(1) printed
	ev.send(rec(5)) // the count goes in; rec(5) is dropped
	var stdout bytes.Buffer
	out := newOutput(&stdout, &stdout)
	out.json = true
	if err := ev.drain(out); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"n","events":2}` + "\n" + `{"type":"dropped","events":2}` + "\n" + `{"type":"dropped","events":1}` + "\n"
	if stdout.String() != want {
		t.Fatalf("drained:\n%s\nwant:\n%s", stdout.String(), want)
	}
	ev.closing.Store(true)
	ev.send(rec(6))
	if len(ev.c) != 0 || ev.dropped.Load() != 0 {
		t.Fatal("a closing queue took a record")
	}
}
