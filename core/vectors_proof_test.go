package core

import (
	"context"
	"slices"
	"testing"
)

type jsonProof struct {
	Nodes      []jsonNode `json:"nodes"`
	Signature  hexBytes   `json:"signature"`
	VerifiedBy uint64     `json:"verifiedBy"`
}

type proofStep struct {
	Request *struct {
		Index, Bytes uint64
		Hash         bool
		Nodes        uint64
	} `json:"request"`
	ProofStateless jsonProof `json:"proofStateless"`
	DataSent       struct {
		Index     uint64
		Value     hexBytes
		Nodes     []jsonNode
		Signature hexBytes
	} `json:"dataSent"`
	ReaderAfter struct {
		Length, ByteLength uint64
		HasBlocks          []uint64 `json:"hasBlocks"`
		NewTreeNodes       []uint64 `json:"newTreeNodes"`
		Digests            []uint64 `json:"digests"`
	} `json:"readerAfter"`
	WriterAppended []hexBytes `json:"writerAppended"`
	WriterLength   uint64     `json:"writerLength"`
}

// TestVectorsProofs replays the JS exchange between a writer and a sparse
// reader: digests, stateless and stateful proofs, and the reader's state.
func TestVectorsProofs(t *testing.T) {
	var v struct {
		Blocks []hexBytes  `json:"blocks"`
		Steps  []proofStep `json:"steps"`
	}
	loadVectors(t, "proofs.json", &v)
	var tv treeVectors
	loadVectors(t, "tree.json", &tv)
	ctx := context.Background()
	kp := vectorKeyPair(t, tv.PublicKey, tv.SecretKey)
	writer, _ := newTestCore(t, kp)
	for _, b := range v.Blocks[:21] {
		if _, err := writer.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	reader, _ := newTestCore(t, KeyPair{PublicKey: kp.PublicKey})
	remote := NewRemoteTree() // the writer's view of the reader, kept across requests
	counts := map[string]int{}
	for i, s := range v.Steps {
		if s.Request == nil {
			for _, b := range s.WriterAppended {
				if _, err := writer.Append(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if writer.Length() != s.WriterLength {
				t.Fatalf("step %d: writer length %d, want %d", i, writer.Length(), s.WriterLength)
			}
			continue
		}
		replayProofStep(t, i, s, writer, reader, remote, counts)
	}
	total := 0
	for k, n := range counts {
		t.Logf("proofs.json %s: %d", k, n)
		total += n
	}
	reportCount(t, "proofs.json", counts["digests"], 432)
	reportCount(t, "proofs.json stateless", counts["stateless"], 18)
	reportCount(t, "proofs.json stateful", counts["stateful"], 18)
}

func replayProofStep(t *testing.T, i int, s proofStep, writer, reader *Hypercore, remote *RemoteTree, counts map[string]int) {
	ctx := context.Background()
	req := s.Request
	if got := reader.Digest(req.Index); got != req.Nodes {
		t.Errorf("step %d: reader digest for %d = %d, want %d", i, req.Index, got, req.Nodes)
	}
	stateless, err := writer.Proof(ctx, req.Index, req.Nodes, req.Hash, nil)
	if err != nil {
		t.Fatalf("step %d: stateless proof: %v", i, err)
	}
	checkProof(t, i, "stateless", stateless, s.ProofStateless.Nodes, s.ProofStateless.Signature)
	if stateless.VerifiedBy != s.ProofStateless.VerifiedBy {
		t.Errorf("step %d: verifiedBy %d, want %d", i, stateless.VerifiedBy, s.ProofStateless.VerifiedBy)
	}
	counts["stateless"]++
	stateful, err := writer.Proof(ctx, req.Index, req.Nodes, req.Hash, remote)
	if err != nil {
		t.Fatalf("step %d: stateful proof: %v", i, err)
	}
	checkProof(t, i, "stateful", stateful, s.DataSent.Nodes, s.DataSent.Signature)
	counts["stateful"]++

	treeBefore := setBits(reader.tree)
	d := Data{Index: s.DataSent.Index, Value: s.DataSent.Value, Nodes: nodesOf(s.DataSent.Nodes), Signature: s.DataSent.Signature}
	if err := reader.Import(ctx, d); err != nil {
		t.Fatalf("step %d: import: %v", i, err)
	}
	after := s.ReaderAfter
	if reader.Length() != after.Length || reader.ByteLength() != after.ByteLength {
		t.Errorf("step %d: reader length %d/%d, want %d/%d", i, reader.Length(), reader.ByteLength(), after.Length, after.ByteLength)
	}
	if got := setBits(reader.data); !slices.Equal(got, after.HasBlocks) {
		t.Errorf("step %d: reader blocks %v, want %v", i, got, after.HasBlocks)
	}
	var added []uint64
	for _, x := range setBits(reader.tree) {
		if !slices.Contains(treeBefore, x) {
			added = append(added, x)
		}
	}
	if !slices.Equal(added, after.NewTreeNodes) && len(added)+len(after.NewTreeNodes) > 0 {
		t.Errorf("step %d: reader stored nodes %v, want %v", i, added, after.NewTreeNodes)
	}
	for b, want := range after.Digests {
		if got := reader.Digest(uint64(b)); got != want {
			t.Errorf("step %d: digest of block %d = %d, want %d", i, b, got, want)
		}
		counts["digests"]++
	}
}

func checkProof(t *testing.T, step int, kind string, p Proof, nodes []jsonNode, sig hexBytes) {
	t.Helper()
	if !slices.Equal(p.Nodes, nodesOf(nodes)) {
		t.Errorf("step %d: %s proof nodes %v, want %v", step, kind, indices(p.Nodes), indices(nodesOf(nodes)))
	}
	wantHex(t, kind+" signature", p.Signature, sig)
}

func indices(ns []Node) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = n.Index
	}
	return out
}

func setBits(b *Bitfield) []uint64 {
	var out []uint64
	for i := range b.Len() {
		if b.Get(i) {
			out = append(out, i)
		}
	}
	return out
}
