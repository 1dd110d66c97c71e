package wire

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hspd/hsp/core"
)

// vectorDir holds the JS-made vectors (shared/vectors, copied into the repo).
const vectorDir = "../../testdata/vectors"

func loadVector(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("parse vector %s: %v", name, err)
	}
}

// hexBytes is a hex string in a vector; null or missing stays nil, "" is
// an empty, non-nil slice.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil {
		*h = nil
		return nil
	}
	v, err := hex.DecodeString(*s)
	if err != nil {
		return err
	}
	*h = append([]byte{}, v...)
	return nil
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func key32(t testing.TB, s string) [32]byte {
	t.Helper()
	b := unhex(t, s)
	if len(b) != 32 {
		t.Fatalf("want 32 bytes, got %d in %q", len(b), s)
	}
	return [32]byte(b)
}

// jsMessage is a message object as the vectors write it: a field that is
// missing or null is absent on the wire.
type jsMessage struct {
	DiscoveryKey hexBytes        `json:"discoveryKey"`
	Capability   hexBytes        `json:"capability"`
	Extensions   []string        `json:"extensions"`
	Ack          *bool           `json:"ack"`
	Uploading    *bool           `json:"uploading"`
	Downloading  *bool           `json:"downloading"`
	Start        *uint64         `json:"start"`
	Length       *uint64         `json:"length"`
	Bitfield     hexBytes        `json:"bitfield"`
	Index        *uint64         `json:"index"`
	Bytes        *uint64         `json:"bytes"`
	Hash         *bool           `json:"hash"`
	Nodes        json.RawMessage `json:"nodes"`
	Value        hexBytes        `json:"value"`
	Signature    hexBytes        `json:"signature"`
}

type jsNode struct {
	Index uint64 `json:"index"`
	Hash  string `json:"hash"`
	Size  uint64 `json:"size"`
}

// fromJS builds the Go message for a vector's message object.
func fromJS(typ Type, raw json.RawMessage) (Message, error) {
	var j jsMessage
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	switch typ {
	case TypeOpen:
		return Open{DiscoveryKey: j.DiscoveryKey, Capability: j.Capability}, nil
	case TypeOptions:
		return Options{Extensions: nilIfEmpty(j.Extensions), Ack: optBool(j.Ack)}, nil
	case TypeStatus:
		return Status{Uploading: optBool(j.Uploading), Downloading: optBool(j.Downloading)}, nil
	case TypeHave:
		return Have{Start: *j.Start, Length: optUint(j.Length), Bitfield: j.Bitfield, Ack: optBool(j.Ack)}, nil
	case TypeUnhave:
		return Unhave{Start: *j.Start, Length: optUint(j.Length)}, nil
	case TypeWant:
		return Want{Start: *j.Start, Length: optUint(j.Length)}, nil
	case TypeUnwant:
		return Unwant{Start: *j.Start, Length: optUint(j.Length)}, nil
	case TypeRequest:
		return Request{Index: *j.Index, Bytes: optUint(j.Bytes), Hash: optBool(j.Hash), Nodes: optUint(j.nodesCount())}, nil
	case TypeCancel:
		return Cancel{Index: *j.Index, Bytes: optUint(j.Bytes), Hash: optBool(j.Hash)}, nil
	case TypeData:
		nodes, err := j.nodeList()
		return Data{Index: *j.Index, Value: j.Value, Nodes: nodes, Signature: j.Signature}, err
	case TypeClose:
		return Close{DiscoveryKey: j.DiscoveryKey}, nil
	}
	return nil, fmt.Errorf("no JSON form for %v", typ)
}

// nodesCount reads Request.nodes, a number (Data.nodes is a list).
func (j jsMessage) nodesCount() *uint64 {
	var n *uint64
	if json.Unmarshal(j.Nodes, &n) != nil {
		return nil
	}
	return n
}

func (j jsMessage) nodeList() ([]core.Node, error) {
	var list []jsNode
	if len(j.Nodes) > 0 {
		if err := json.Unmarshal(j.Nodes, &list); err != nil {
			return nil, err
		}
	}
	var nodes []core.Node
	for _, n := range list {
		h, err := hex.DecodeString(n.Hash)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("bad node hash %q", n.Hash)
		}
		nodes = append(nodes, core.Node{Index: n.Index, Hash: [32]byte(h), Size: n.Size})
	}
	return nodes, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func optBool(b *bool) OptBool {
	if b == nil {
		return OptBool{}
	}
	return Bool(*b)
}

func optUint(v *uint64) OptUint64 {
	if v == nil {
		return OptUint64{}
	}
	return Uint64(*v)
}

// jsView renders m as the JS decoder returns it, defaults of absent fields
// included, as JSON-decoded generic values.
func jsView(m Message) any {
	var v map[string]any
	switch m := m.(type) {
	case Open:
		v = map[string]any{"discoveryKey": hexOrNil(m.DiscoveryKey), "capability": hexOrNil(m.Capability)}
	case Options:
		v = map[string]any{"extensions": append([]string{}, m.Extensions...), "ack": m.Ack.Value}
	case Status:
		v = map[string]any{"uploading": m.Uploading.Value, "downloading": m.Downloading.Value}
	case Have:
		v = map[string]any{"start": m.Start, "length": m.Length.Or(1), "bitfield": hexOrNil(m.Bitfield), "ack": m.Ack.Value}
	case Unhave:
		v = map[string]any{"start": m.Start, "length": m.Length.Or(1)}
	case Want:
		v = map[string]any{"start": m.Start, "length": m.Length.Or(0)}
	case Unwant:
		v = map[string]any{"start": m.Start, "length": m.Length.Or(0)}
	case Request:
		v = map[string]any{"index": m.Index, "bytes": m.Bytes.Value, "hash": m.Hash.Value, "nodes": m.Nodes.Value}
	case Cancel:
		v = map[string]any{"index": m.Index, "bytes": m.Bytes.Value, "hash": m.Hash.Value}
	case Data:
		nodes := []any{}
		for _, n := range m.Nodes {
			nodes = append(nodes, map[string]any{"index": n.Index, "hash": hex.EncodeToString(n.Hash[:]), "size": n.Size})
		}
		v = map[string]any{"index": m.Index, "value": hexOrNil(m.Value), "nodes": nodes, "signature": hexOrNil(m.Signature)}
	case Close:
		v = map[string]any{"discoveryKey": hexOrNil(m.DiscoveryKey)}
	}
	return generic(v)
}

func hexOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}

// generic turns v into what encoding/json decodes into an any.
func generic(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
