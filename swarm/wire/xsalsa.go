package wire

import (
	"crypto/subtle"
	"encoding/binary"

	"golang.org/x/crypto/salsa20/salsa"
)

// xsalsa20 is one continuous XSalsa20 keystream (libsodium
// crypto_stream_xsalsa20): the HSalsa20 subkey of key and nonce[0:16], then
// Salsa20/20 with nonce[16:24] and a 64-bit block counter from 0. XOR may be
// called with chunks of any size; the result equals one XOR over their
// concatenation.
type xsalsa20 struct {
	subkey  [32]byte
	counter [16]byte // nonce[16:24] || little-endian block counter
	block   [64]byte // keystream of the block before counter, if partly used
	used    int      // bytes of block already used; 64 when none is left
}

func newXSalsa20(key *[32]byte, nonce *[24]byte) *xsalsa20 {
	x := &xsalsa20{used: 64}
	var in [16]byte
	copy(in[:], nonce[:16])
	salsa.HSalsa20(&x.subkey, &in, key, &salsa.Sigma)
	copy(x.counter[:8], nonce[16:])
	return x
}

// XOR sets dst to src XOR the next len(src) keystream bytes. dst and src
// must overlap entirely or not at all.
func (x *xsalsa20) XOR(dst, src []byte) {
	n := copyXOR(dst, src, x.block[x.used:])
	x.used += n
	dst, src = dst[n:], src[n:]
	if full := len(src) &^ 63; full > 0 {
		salsa.XORKeyStream(dst[:full], src[:full], &x.counter, &x.subkey)
		x.advance(uint64(full / 64))
		dst, src = dst[full:], src[full:]
	}
	if len(src) > 0 {
		x.block = [64]byte{}
		salsa.XORKeyStream(x.block[:], x.block[:], &x.counter, &x.subkey)
		x.advance(1)
		x.used = copyXOR(dst, src, x.block[:])
	}
}

// advance moves the block counter n blocks on.
func (x *xsalsa20) advance(n uint64) {
	c := binary.LittleEndian.Uint64(x.counter[8:])
	binary.LittleEndian.PutUint64(x.counter[8:], c+n)
}

// copyXOR sets dst[i] = src[i] ^ ks[i] for as many bytes as the shortest of
// src and ks has, and returns that count.
func copyXOR(dst, src, ks []byte) int {
	n := min(len(src), len(ks))
	return subtle.XORBytes(dst[:n], src[:n], ks[:n])
}
