package core

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/blake2b"
)

// Sizes of the values a core signs and stores.
const (
	SignatureSize = ed25519.SignatureSize // 64
	SecretKeySize = ed25519.PrivateKeySize
	SignableSize  = 40
)

// Type bytes that separate the three hash constructions of hypercore-crypto 2.
const (
	leafType   = 0x00
	parentType = 0x01
	rootType   = 0x02
)

// KeyPair is a writer's Ed25519 key pair. SecretKey is libsodium's 64-byte
// form (seed ‖ public key), which is also Go's ed25519.PrivateKey; it is nil
// for a core this process can only read.
type KeyPair struct {
	PublicKey Key
	SecretKey ed25519.PrivateKey
}

// GenerateKeyPair makes a fresh key pair from random bytes read from r
// (crypto/rand.Reader in production).
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	return KeyPairFromSeed(seed), nil
}

// KeyPairFromSeed derives the key pair of a 32-byte seed, as libsodium's
// crypto_sign_seed_keypair does.
func KeyPairFromSeed(seed []byte) KeyPair {
	sk := ed25519.NewKeyFromSeed(seed)
	var kp KeyPair
	copy(kp.PublicKey[:], sk[32:])
	kp.SecretKey = sk
	return kp
}

// ErrBadKeyPair reports a secret key that is malformed or does not match its
// public key.
var ErrBadKeyPair = errors.New("secret key does not match public key")

// ImportKeyPair checks an existing 64-byte secret key (seed ‖ public key)
// against its public key and returns the pair.
func ImportKeyPair(public Key, secret []byte) (KeyPair, error) {
	if len(secret) != SecretKeySize {
		return KeyPair{}, fmt.Errorf("import key pair: secret key is %d bytes, want %d: %w", len(secret), SecretKeySize, ErrBadKeyPair)
	}
	kp := KeyPairFromSeed(secret[:32])
	if kp.PublicKey != public || string(secret[32:]) != string(public[:]) {
		return KeyPair{}, fmt.Errorf("import key pair %s: %w", public, ErrBadKeyPair)
	}
	return kp, nil
}

// Writable reports whether the pair holds a secret key.
func (kp KeyPair) Writable() bool { return len(kp.SecretKey) == SecretKeySize }

// LeafNode hashes block data into the leaf node of block index:
// H(0x00 ‖ u64be(len) ‖ data).
func LeafNode(index uint64, data []byte) Node {
	return Node{Index: 2 * index, Hash: LeafHash(data), Size: uint64(len(data))}
}

// LeafHash is the hash of the leaf node of a block holding data, whatever
// its index: H(0x00 ‖ u64be(len) ‖ data).
func LeafHash(data []byte) [32]byte {
	var hdr [9]byte
	hdr[0] = leafType
	binary.BigEndian.PutUint64(hdr[1:], uint64(len(data)))
	h, _ := blake2b.New256(nil)
	h.Write(hdr[:])
	h.Write(data)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// ParentNode combines two sibling nodes, given in any order, into their
// parent: H(0x01 ‖ u64be(size) ‖ left.hash ‖ right.hash).
func ParentNode(a, b Node) Node {
	if a.Index > b.Index {
		a, b = b, a
	}
	var buf [1 + 8 + 32 + 32]byte
	buf[0] = parentType
	binary.BigEndian.PutUint64(buf[1:], a.Size+b.Size)
	copy(buf[9:], a.Hash[:])
	copy(buf[41:], b.Hash[:])
	return Node{Index: parent(a.Index), Hash: blake2b.Sum256(buf[:]), Size: a.Size + b.Size}
}

// TreeHash hashes a core's roots, left to right:
// H(0x02 ‖ for each root: hash ‖ u64be(index) ‖ u64be(size)).
func TreeHash(roots []Node) [32]byte {
	buf := make([]byte, 1, 1+48*len(roots))
	buf[0] = rootType
	for _, r := range roots {
		buf = append(buf, r.Hash[:]...)
		buf = binary.BigEndian.AppendUint64(buf, r.Index)
		buf = binary.BigEndian.AppendUint64(buf, r.Size)
	}
	return blake2b.Sum256(buf)
}

// Signable returns the 40 bytes a writer signs for a core of length blocks
// whose roots are given: TreeHash(roots) ‖ u64be(length).
func Signable(roots []Node, length uint64) [SignableSize]byte {
	var s [SignableSize]byte
	th := TreeHash(roots)
	copy(s[:], th[:])
	binary.BigEndian.PutUint64(s[32:], length)
	return s
}

// Sign signs the roots of a core of the given length.
func Sign(secret ed25519.PrivateKey, roots []Node, length uint64) []byte {
	s := Signable(roots, length)
	return ed25519.Sign(secret, s[:])
}

// VerifyRoots checks a signature over roots for length: the 40-byte form
// first, then hypercore's legacy form over the 32-byte tree hash alone.
func VerifyRoots(public Key, roots []Node, length uint64, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	s := Signable(roots, length)
	if ed25519.Verify(public[:], s[:], sig) {
		return true
	}
	return ed25519.Verify(public[:], s[:32], sig)
}
