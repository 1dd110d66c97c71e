package core

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func newWriter(t *testing.T, n int) *Hypercore {
	t.Helper()
	w, _ := newTestCore(t, KeyPairFromSeed(make([]byte, 32)))
	for i := range n {
		if _, err := w.Append(context.Background(), []byte{byte(i), byte(i * 7)}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func fullProof(t *testing.T, w *Hypercore, i uint64, digest uint64) Data {
	t.Helper()
	ctx := context.Background()
	p, err := w.Proof(ctx, i, digest, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.Get(ctx, i, GetOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	return Data{Index: i, Value: v, Nodes: p.Nodes, Signature: p.Signature}
}

func cloneData(d Data) Data {
	d.Value = slices.Clone(d.Value)
	d.Nodes = slices.Clone(d.Nodes)
	d.Signature = slices.Clone(d.Signature)
	return d
}

var tamperings = map[string]func(*Data){
	"block byte":      func(d *Data) { d.Value[0] ^= 1 },
	"longer block":    func(d *Data) { d.Value = append(d.Value, 0) },
	"first node hash": func(d *Data) { d.Nodes[0].Hash[3] ^= 0x80 },
	"last node hash":  func(d *Data) { d.Nodes[len(d.Nodes)-1].Hash[31] ^= 1 },
	"node size":       func(d *Data) { d.Nodes[0].Size++ },
	"node index":      func(d *Data) { d.Nodes[0].Index += 2 },
	"signature byte":  func(d *Data) { d.Signature[10] ^= 4 },
	"no signature":    func(d *Data) { d.Signature = nil },
	"short signature": func(d *Data) { d.Signature = d.Signature[:63] },
	"missing node":    func(d *Data) { d.Nodes = d.Nodes[1:] },
	"no nodes":        func(d *Data) { d.Nodes = nil },
	"wrong index":     func(d *Data) { d.Index++ },
	"huge index":      func(d *Data) { d.Index = 1 << 62 },
	"hash reply without leaf": func(d *Data) {
		d.Value = nil
	},
}

// TestTamperedImport flips single fields of a valid proof: each must be
// refused with ErrVerify and leave the reader exactly as it was.
func TestTamperedImport(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 21)
	good := fullProof(t, w, 5, 0)
	for name, tamper := range tamperings {
		t.Run(name, func(t *testing.T) {
			r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
			d := cloneData(good)
			tamper(&d)
			err := r.Import(ctx, d)
			if !errors.Is(err, ErrVerify) {
				t.Fatalf("tampered import: %v, want ErrVerify", err)
			}
			if r.Length() != 0 || r.data.Len() != 0 || r.tree.Len() != 0 || len(st.nodes)+len(st.blocks)+len(st.sigs) != 0 {
				t.Fatalf("a refused import changed the reader: length %d, %d nodes stored", r.Length(), len(st.nodes))
			}
			if err := r.Import(ctx, good); err != nil || r.Length() != 21 {
				t.Fatalf("the genuine proof after a tampered one: %v, length %d", err, r.Length())
			}
		})
	}
}

// TestTamperedImportTrusted tampers with a proof that ends at a node the
// reader already trusts, so no signature is involved.
func TestTamperedImportTrusted(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 21)
	r, st := newTestCore(t, KeyPair{PublicKey: w.Key()})
	if err := r.Import(ctx, fullProof(t, w, 20, 0)); err != nil {
		t.Fatal(err)
	}
	good := fullProof(t, w, 3, r.Digest(3))
	if good.Signature != nil || len(good.Nodes) == 0 {
		t.Fatalf("expected a short proof without signature, got %d nodes", len(good.Nodes))
	}
	nodes := len(st.nodes)
	for _, name := range []string{"block byte", "first node hash", "node size", "last node hash"} {
		d := cloneData(good)
		tamperings[name](&d)
		if err := r.Import(ctx, d); !errors.Is(err, ErrVerify) {
			t.Fatalf("%s: %v, want ErrVerify", name, err)
		}
		if has, _ := r.Has(ctx, 3); has || len(st.nodes) != nodes {
			t.Fatalf("%s: a refused import stored something", name)
		}
	}
	if err := r.Import(ctx, good); err != nil {
		t.Fatal(err)
	}
}

// TestAuditFindsCorruption changes stored data under a core.
func TestAuditFindsCorruption(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(map[uint64][]byte, map[uint64]Node, map[uint64][]byte){
		"block": func(b map[uint64][]byte, _ map[uint64]Node, _ map[uint64][]byte) { b[7][0] ^= 1 },
		"leaf hash": func(_ map[uint64][]byte, n map[uint64]Node, _ map[uint64][]byte) {
			x := n[14]
			x.Hash[0] ^= 1
			n[14] = x
		},
		"node size":  func(_ map[uint64][]byte, n map[uint64]Node, _ map[uint64][]byte) { x := n[3]; x.Size++; n[3] = x },
		"signature":  func(_ map[uint64][]byte, _ map[uint64]Node, s map[uint64][]byte) { s[21][0] ^= 1 },
		"lost block": func(b map[uint64][]byte, _ map[uint64]Node, _ map[uint64][]byte) { delete(b, 3) },
		"lost node":  func(_ map[uint64][]byte, n map[uint64]Node, _ map[uint64][]byte) { delete(n, 5) },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			kp := KeyPairFromSeed(make([]byte, 32))
			w, st := newTestCore(t, kp)
			for i := range 21 {
				w.Append(ctx, []byte{byte(i), 1, 2})
			}
			if _, err := w.Audit(ctx); err != nil {
				t.Fatalf("audit before: %v", err)
			}
			st.Tamper(corrupt)
			if _, err := w.Audit(ctx); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("audit after corrupting the %s: %v, want ErrCorrupt", name, err)
			}
		})
	}
}

func TestOpenRefusesBadSignature(t *testing.T) {
	ctx := context.Background()
	kp := KeyPairFromSeed(make([]byte, 32))
	w, st := newTestCore(t, kp)
	w.Append(ctx, []byte("a"), []byte("b"))
	w.Close()
	st.Tamper(func(_ map[uint64][]byte, _ map[uint64]Node, s map[uint64][]byte) { s[2][5] ^= 1 })
	if _, err := Open(ctx, st.Reopen(), kp); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a bad signature: %v, want ErrCorrupt", err)
	}
}

func TestOpenRefusesWrongByteLength(t *testing.T) {
	ctx := context.Background()
	kp := KeyPairFromSeed(make([]byte, 32))
	w, st := newTestCore(t, kp)
	w.Append(ctx, []byte("abc"), []byte("de"))
	w.Close()
	st.header.ByteLength = 4
	if _, err := Open(ctx, st.Reopen(), kp); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a byte length the roots contradict: %v, want ErrCorrupt", err)
	}
}
