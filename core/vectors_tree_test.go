package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
)

type treeVectors struct {
	PublicKey hexBytes   `json:"publicKey"`
	SecretKey hexBytes   `json:"secretKey"`
	Blocks    []hexBytes `json:"blocks"`
	Steps     []struct {
		AppendedIndex, Length, ByteLength uint64
		LeafHash                          hexBytes   `json:"leafHash"`
		NewNodes                          []jsonNode `json:"newNodes"`
		Roots                             []jsonNode
		TreeHash, Signable, Signature     hexBytes
		LegacySignature32                 hexBytes `json:"legacySignature32"`
	} `json:"steps"`
	FinalNodes  []jsonNode `json:"finalNodes"`
	BatchAppend struct {
		Length            uint64
		SignatureAtIndex4 hexBytes `json:"signatureAtIndex4"`
	} `json:"batchAppend"`
}

func vectorKeyPair(t *testing.T, pub, secret []byte) KeyPair {
	t.Helper()
	var k Key
	copy(k[:], pub)
	kp, err := ImportKeyPair(k, secret)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func newTestCore(t fataler, kp KeyPair) (*Hypercore, *MemoryStorage) {
	st := NewMemoryStorage()
	c, err := Open(context.Background(), st, kp)
	if err != nil {
		t.Fatalf("open core: %v", err)
	}
	return c, st
}

func TestVectorsTree(t *testing.T) {
	var v treeVectors
	loadVectors(t, "tree.json", &v)
	ctx := context.Background()
	kp := vectorKeyPair(t, v.PublicKey, v.SecretKey)
	c, st := newTestCore(t, kp)
	n := 0
	for i, step := range v.Steps {
		before := len(st.nodes)
		length, err := c.Append(ctx, v.Blocks[i])
		if err != nil || length != step.Length || c.ByteLength() != step.ByteLength {
			t.Fatalf("step %d: append = %d, %v; byteLength %d", i, length, err, c.ByteLength())
		}
		if got := len(st.nodes) - before; got != len(step.NewNodes) {
			t.Errorf("step %d: %d new nodes, want %d", i, got, len(step.NewNodes))
		}
		for _, want := range step.NewNodes {
			if got := st.nodes[want.Index]; got != want.node() {
				t.Errorf("step %d: node %d = %+v, want %+v", i, want.Index, got, want.node())
			}
		}
		leaf := LeafNode(uint64(i), v.Blocks[i])
		wantHex(t, "leaf hash", leaf.Hash[:], step.LeafHash)
		roots, err := c.RootHashes(ctx, length-1)
		if err != nil || !slices.Equal(roots, nodesOf(step.Roots)) {
			t.Errorf("step %d: roots %v, %v", i, roots, err)
		}
		th := TreeHash(roots)
		wantHex(t, "tree hash", th[:], step.TreeHash)
		s := Signable(roots, length)
		wantHex(t, "signable", s[:], step.Signable)
		sig, err := c.Signature(ctx, length-1)
		if err != nil || sig.Length != length {
			t.Fatalf("step %d: signature: %+v, %v", i, sig, err)
		}
		wantHex(t, "signature", sig.Signature, step.Signature)
		if !VerifyRoots(kp.PublicKey, roots, length, step.LegacySignature32) {
			t.Errorf("step %d: legacy 32-byte signature rejected", i)
		}
		if ed25519.Verify(kp.PublicKey[:], s[:], step.LegacySignature32) {
			t.Errorf("step %d: legacy signature verifies as the 40-byte form", i)
		}
		n++
	}
	for _, want := range v.FinalNodes {
		if got, err := st.Node(ctx, want.Index); err != nil || got != want.node() {
			t.Errorf("final node %d = %+v, %v", want.Index, got, err)
		}
		n++
	}
	n += checkBatchAppend(t, v, kp)
	reportCount(t, "tree.json", n, 21+39+1)
}

func checkBatchAppend(t *testing.T, v treeVectors, kp KeyPair) int {
	ctx := context.Background()
	c, st := newTestCore(t, kp)
	if _, err := c.Append(ctx, toBytes(v.Blocks[:v.BatchAppend.Length])...); err != nil {
		t.Fatal(err)
	}
	sig, err := c.Signature(ctx, 2) // the first signature covering block 2 is the batch's
	if err != nil || sig.Length != 5 {
		t.Fatalf("batch signature: %+v, %v", sig, err)
	}
	wantHex(t, "batch signature", sig.Signature, v.BatchAppend.SignatureAtIndex4)
	for l := uint64(1); l < 5; l++ {
		if _, err := st.Signature(ctx, l); !errors.Is(err, ErrNotStored) {
			t.Errorf("signature for length %d stored after a batch append: %v", l, err)
		}
	}
	return 1
}

func toBytes(hs []hexBytes) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}
