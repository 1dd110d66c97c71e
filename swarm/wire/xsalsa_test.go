package wire

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/salsa20"
)

// TestXSalsa20Vector: xsalsa20.json, chunk by chunk and in one go.
func TestXSalsa20Vector(t *testing.T) {
	var v struct {
		Key, Nonce, Plaintext, Ciphertext string
		ChunkSizes                        []int    `json:"chunkSizes"`
		CiphertextChunks                  []string `json:"ciphertextChunks"`
	}
	loadVector(t, "xsalsa20.json", &v)
	key, nonce := key32(t, v.Key), [24]byte(unhex(t, v.Nonce))
	plain := unhex(t, v.Plaintext)
	x := newXSalsa20(&key, &nonce)
	off := 0
	for i, n := range v.ChunkSizes {
		out := make([]byte, n)
		x.XOR(out, plain[off:off+n])
		if hex.EncodeToString(out) != v.CiphertextChunks[i] {
			t.Errorf("chunk %d (%d bytes): %x, want %s", i, n, out, v.CiphertextChunks[i])
		}
		off += n
	}
	whole := bytes.Clone(plain)
	newXSalsa20(&key, &nonce).XOR(whole, whole)
	if hex.EncodeToString(whole) != v.Ciphertext {
		t.Errorf("one shot: %x", whole)
	}
}

// TestXSalsa20Chunking: random chunkings of a few blocks equal x/crypto's
// one-shot XSalsa20.
func TestXSalsa20Chunking(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var key [32]byte
	var nonce [24]byte
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	for i := range nonce {
		nonce[i] = byte(r.Uint32())
	}
	plain := make([]byte, 5000)
	for i := range plain {
		plain[i] = byte(i)
	}
	want := make([]byte, len(plain))
	salsa20.XORKeyStream(want, plain, nonce[:], &key)
	for range 200 {
		x := newXSalsa20(&key, &nonce)
		got := bytes.Clone(plain)
		for off := 0; off < len(got); {
			n := min(len(got)-off, r.IntN(300))
			x.XOR(got[off:off+n], got[off:off+n])
			off += n
		}
		if !bytes.Equal(got, want) {
			t.Fatal("chunked keystream differs from one shot")
		}
	}
}
