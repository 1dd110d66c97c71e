package core

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The vectors in ../testdata/vectors were made by the JavaScript hypercore 9
// packages (see docs/vectors.md). Each test counts the cases it checked so a
// vector file that silently loses cases fails.

func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
}

// hexBytes is a byte string written as hex in the vectors; JSON null leaves
// it nil.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = append(hexBytes{}, d...)
	return nil
}

type jsonNode struct {
	Index uint64   `json:"index"`
	Hash  hexBytes `json:"hash"`
	Size  uint64   `json:"size"`
}

func (n jsonNode) node() Node {
	out := Node{Index: n.Index, Size: n.Size}
	copy(out.Hash[:], n.Hash)
	return out
}

func nodesOf(js []jsonNode) []Node {
	out := make([]Node, len(js))
	for i, n := range js {
		out[i] = n.node()
	}
	return out
}

func wantHex(t *testing.T, what string, got []byte, want hexBytes) {
	t.Helper()
	if hex.EncodeToString(got) != hex.EncodeToString(want) {
		t.Errorf("%s = %x, want %x", what, got, []byte(want))
	}
}

func reportCount(t *testing.T, file string, n, atLeast int) {
	t.Helper()
	if n < atLeast {
		t.Fatalf("%s: checked %d cases, expected at least %d", file, n, atLeast)
	}
	t.Logf("%s: %d cases checked", file, n)
}

func TestVectorsKeys(t *testing.T) {
	var v struct {
		KeyPairs []struct {
			Seed, PublicKey, SecretKey, DiscoveryKey hexBytes
		} `json:"keyPairs"`
	}
	loadVectors(t, "keys.json", &v)
	for _, kp := range v.KeyPairs {
		got := KeyPairFromSeed(kp.Seed)
		wantHex(t, "public key", got.PublicKey[:], kp.PublicKey)
		wantHex(t, "secret key", got.SecretKey, kp.SecretKey)
		dk := got.PublicKey.DiscoveryKey()
		wantHex(t, "discovery key", dk[:], kp.DiscoveryKey)
		var pub Key
		copy(pub[:], kp.PublicKey)
		if _, err := ImportKeyPair(pub, kp.SecretKey); err != nil {
			t.Errorf("import: %v", err)
		}
	}
	reportCount(t, "keys.json", len(v.KeyPairs), 2)
}

func TestVectorsCrypto(t *testing.T) {
	var v struct {
		Data []struct {
			Input, Hash hexBytes
		} `json:"data"`
		Parent struct {
			Left, Right jsonNode
			Hash        hexBytes
		} `json:"parent"`
		Tree struct {
			Roots           []jsonNode
			Hash            hexBytes
			SignableLength3 hexBytes `json:"signableLength3"`
		} `json:"tree"`
		DiscoveryKey struct {
			PublicKey, DiscoveryKey hexBytes
		} `json:"discoveryKey"`
	}
	loadVectors(t, "crypto.json", &v)
	n := 0
	for _, d := range v.Data {
		leaf := LeafNode(0, d.Input)
		wantHex(t, "leaf hash", leaf.Hash[:], d.Hash)
		n++
	}
	p := ParentNode(v.Parent.Right.node(), v.Parent.Left.node()) // argument order must not matter
	wantHex(t, "parent hash", p.Hash[:], v.Parent.Hash)
	roots := nodesOf(v.Tree.Roots)
	th := TreeHash(roots)
	wantHex(t, "tree hash", th[:], v.Tree.Hash)
	s := Signable(roots, 3)
	wantHex(t, "signable", s[:], v.Tree.SignableLength3)
	var k Key
	copy(k[:], v.DiscoveryKey.PublicKey)
	dk := k.DiscoveryKey()
	wantHex(t, "discovery key", dk[:], v.DiscoveryKey.DiscoveryKey)
	// The capability cases are wire-level; swarm/wire checks them.
	reportCount(t, "crypto.json", n+4, 7)
}

func TestVectorsFlatTree(t *testing.T) {
	var v struct {
		Nodes []struct {
			Index, Depth, Offset, Parent, Sibling uint64
			LeftChild, RightChild                 int64
			LeftSpan, RightSpan, Count            uint64
		} `json:"nodes"`
		FullRoots []struct {
			Length, TreeIndex uint64
			Roots             []uint64
		} `json:"fullRoots"`
	}
	loadVectors(t, "flat-tree.json", &v)
	for _, c := range v.Nodes {
		x := c.Index
		l, r, ok := children(x)
		if !ok {
			l, r = ^uint64(0), ^uint64(0)
		}
		got := [9]uint64{depth(x), offset(x), parent(x), sibling(x), l, r, leftSpan(x), rightSpan(x), count(x)}
		want := [9]uint64{c.Depth, c.Offset, c.Parent, c.Sibling, uint64(c.LeftChild), uint64(c.RightChild), c.LeftSpan, c.RightSpan, c.Count}
		if got != want {
			t.Errorf("node %d: got %v, want %v", x, got, want)
		}
		if treeIndex(c.Depth, c.Offset) != x {
			t.Errorf("treeIndex(%d, %d) != %d", c.Depth, c.Offset, x)
		}
	}
	for _, c := range v.FullRoots {
		got := fullRoots(c.TreeIndex)
		if len(got) != len(c.Roots) || (len(got) > 0 && !slices.Equal(got, c.Roots)) {
			t.Errorf("fullRoots(%d) = %v, want %v", c.TreeIndex, got, c.Roots)
		}
	}
	reportCount(t, "flat-tree.json", len(v.Nodes)+len(v.FullRoots), 105)
}
