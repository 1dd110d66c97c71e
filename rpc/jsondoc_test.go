package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hspd/hsp/core"
)

// docKey is the key the examples of docs/json.md use (keys.json's first).
var docKey = mustKey("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")

func mustKey(s string) core.Key {
	k, err := core.ParseKey(s)
	if err != nil {
		panic(err)
	}
	return k
}

// docExamples are the values behind the JSON examples of docs/json.md, in
// the order they appear there; each block may hold several JSON values.
func docExamples() [][]any {
	const home = "/home/me/.local/share/hsp"
	return [][]any{
		{ErrorResult{Type: "error", Error: "no core ab…ab is stored here (`hsp ls` lists them)", Code: "not-found", ExitCode: 4}},
		{CreateResult{Key: docKey, DiscoveryKey: docKey.DiscoveryKey(), Name: "notes", Writable: true}},
		{AppendResult{Key: docKey, Appended: 2, Length: 5, ByteLength: 12}},
		{BlockRecord{Type: "block", Index: 0, Data: []byte("hello")}},
		{CoreList{Cores: []CoreInfo{{Key: docKey, DiscoveryKey: docKey.DiscoveryKey(),
			Length: 5, ByteLength: 12, Writable: true, Name: "notes", Downloaded: 5,
			Seeding: true, Peers: 2, UploadedBytes: 12}}}},
		{Status{Version: "v0.1.0", Protocol: 1, UptimeMs: 1234, Pid: 4242, Home: home,
			Storage: home + "/storage", Socket: home + "/hsp.sock", CoresStored: 2, Clients: 1,
			Network: NetworkStatus{Available: true, PublicKey: docKey, Port: 40123, Peers: 1, UploadedBytes: 10240,
				DHT:           DHTStatus{Running: true, Nodes: 14, Bootstrapped: true, Bootstrap: []string{"10.0.0.2:49737"}},
				RemoteAddress: "203.0.113.7:40123", RemoteAddressFrom: "dht", Holepunchable: true, HolepunchableFrom: "dht"},
			Settings: map[string]string{"swarm-port": "40123", "bootstrap": "10.0.0.2:49737"}}},
		{ConfigEntry{Key: "port", Value: "7070", Set: true, About: "also serve RPC on this TCP port (0: off); clients present the home's token"},
			ConfigChange{Key: "port", Value: "7070", RestartNeeded: true},
			ConfigChange{Key: "port", Unset: true}},
		{DeleteResult{Key: docKey, Deleted: true}},
		{DaemonResult{Running: true, Started: true, Home: "…", Socket: "…", Pid: 4242},
			DaemonResult{Running: false, Stopped: true, Home: "…", Socket: "…", Pid: 4242}},
		{ServiceResult{Path: "/home/me/.config/systemd/user/hsp.service", Written: true}},
		{SeedList{Cores: []SeedResult{{Key: docKey, DiscoveryKey: docKey.DiscoveryKey(), Seeding: true}}}},
		{ReplicateProgress{Type: "progress", Key: docKey, ElapsedMs: 250, DownloadProgress: DownloadProgress{
			End: 10000, Have: 4096, DownloadedBlocks: 4096, DownloadedBytes: 4 << 20, Peers: 1, Known: 1,
			RemoteLength: 10000, Connections: 1}},
			ReplicateDone{Type: "done", Key: docKey, End: 10000, Have: 10000, DownloadedBlocks: 10000,
				DownloadedBytes: 10240000, Peers: 1, ElapsedMs: 610}},
		{PeerList{Peers: []Peer{{RemotePublicKey: docKey, RemoteAddress: "127.0.0.1:40123", Type: "tcp",
			Initiator: true, DownloadedBytes: 10240000, DiscoveryKeys: []core.DiscoveryKey{docKey.DiscoveryKey()}}},
			Disconnects: map[string]uint64{"bad data": 1}}},
		dhtDocExamples(),
	}
}

// dhtDocExamples are the lines of `hsp dht --json` in docs/json.md.
func dhtDocExamples() []any {
	const (
		id    = "e8b8800bbeb4787068a278508bc1bdf0bb25a96df1664f185ddd73435187c560"
		other = "9a5497ad8f038454f1164b24b7d2c33a08e1e3bc5dd9d5f9325e47e84233e2cb"
		boot  = "10.0.0.1:49737"
		a, b  = "10.0.0.7:40211", "10.0.0.8:40212"
	)
	topic := docKey.DiscoveryKey().String()
	return []any{
		DHTListening{Type: "listening", Host: "0.0.0.0", Port: 49737, ID: id, Persistent: true, Bootstrap: []string{boot}},
		DHTNodesEvent{Type: "nodes", Change: "joined", NodeAddress: boot, NodeID: other, Nodes: 1},
		DHTBootstrapped{Type: "bootstrapped", Nodes: 1, Attempts: 1},
		DHTTopicEvent{Type: "announce", Topic: topic, From: a},
		DHTTopicEvent{Type: "lookup", Topic: topic, From: b},
		DHTHolepunchEvent{Type: "holepunch", From: b, To: a},
		DHTTopicEvent{Type: "unannounce", Topic: topic, From: a},
		DHTNodesEvent{Type: "nodes", Change: "left", NodeAddress: boot, NodeID: other, Nodes: 0},
		DHTDropped{Type: "dropped", Events: 12},
	}
}

// TestJSONDocExamples proves the output contract: every JSON example in
// docs/json.md is exactly what the result structs marshal to.
func TestJSONDocExamples(t *testing.T) {
	blocks := jsonBlocks(t, "../docs/json.md")
	examples := docExamples()
	if len(blocks) != len(examples) {
		t.Fatalf("docs/json.md has %d JSON examples, the test knows %d: add the new one to docExamples", len(blocks), len(examples))
	}
	for i, block := range blocks {
		values := jsonValues(t, block)
		if len(values) != len(examples[i]) {
			t.Fatalf("example %d holds %d values, the test knows %d", i, len(values), len(examples[i]))
		}
		for j, want := range values {
			got, err := json.Marshal(examples[i][j])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("example %d.%d:\n docs: %s\n code: %s", i, j, want, got)
			}
		}
	}
}

// jsonBlocks returns the bodies of the ```json fences of a Markdown file.
func jsonBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```json":
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// jsonValues splits a block into its JSON values, each compacted.
func jsonValues(t *testing.T, block string) [][]byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(block))
	var out [][]byte
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("docs/json.md: %v in\n%s", err, block)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
}
