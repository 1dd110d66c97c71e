package main

import (
	"math/rand/v2"
	"sync"
)

// poolSize is the amount of pseudo-random bytes blocks are cut from, as
// on the JS side (lib/common.js blockSource).
const poolSize = 64 << 20

// randomPool is poolSize bytes of seeded ChaCha8 output: incompressible,
// so neither pebble's compression nor anything else can flatter hsp.
var randomPool = sync.OnceValue(func() []byte {
	buf := make([]byte, poolSize+128<<10)
	r := rand.NewChaCha8([32]byte{'h', 's', 'p', '-', 'b', 'e', 'n', 'c', 'h'})
	r.Read(buf)
	return buf
})

// blockSource hands out consecutive windows of the pool, wrapping round.
type blockSource struct {
	off  int
	size int
}

// newBlockSource starts at a different place of the pool for each seed, so
// concurrent writers do not append the same bytes.
func newBlockSource(seed, size int) *blockSource {
	return &blockSource{off: (seed * 7919 * 1024) % poolSize, size: size}
}

func (s *blockSource) next() []byte {
	pool := randomPool()
	if s.off+s.size > len(pool) {
		s.off = 0
	}
	b := pool[s.off : s.off+s.size : s.off+s.size]
	s.off += s.size
	return b
}

func (s *blockSource) batch(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = s.next()
	}
	return out
}
