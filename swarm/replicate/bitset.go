package replicate

// bitset is what a peer announced it has: a sparse set of block indices in
// pages of 8192 bits, most significant bit first as in a Have bitfield.
type bitset struct {
	pages map[uint64]*[bitsetPage]byte
}

const (
	bitsetPage = 1024 // bytes per page
	pageBits   = bitsetPage * 8
)

func (b *bitset) get(i uint64) bool {
	p := b.pages[i/pageBits]
	if p == nil {
		return false
	}
	j := i % pageBits
	return p[j>>3]&(0x80>>(j&7)) != 0
}

func (b *bitset) page(n uint64) *[bitsetPage]byte {
	if b.pages == nil {
		b.pages = map[uint64]*[bitsetPage]byte{}
	}
	p := b.pages[n]
	if p == nil {
		p = new([bitsetPage]byte)
		b.pages[n] = p
	}
	return p
}

// setRange sets (v true) or clears bits [start, end).
func (b *bitset) setRange(start, end uint64, v bool) {
	for i := start; i < end; {
		n, j := i/pageBits, i%pageBits
		if !v && b.pages[n] == nil {
			i = (n + 1) * pageBits
			continue
		}
		if !v && j == 0 && end-i >= pageBits {
			delete(b.pages, n)
			i += pageBits
			continue
		}
		p := b.page(n)
		if j%8 == 0 && end-i >= 8 {
			p[j>>3] = fill(v)
			i += 8
			continue
		}
		if v {
			p[j>>3] |= 0x80 >> (j & 7)
		} else {
			p[j>>3] &^= 0x80 >> (j & 7)
		}
		i++
	}
}

func fill(v bool) byte {
	if v {
		return 0xff
	}
	return 0
}

// setBytes replaces bits [start, start+8*len(bits)) with bits; start is a
// multiple of 8. It returns one past the highest bit set, or 0.
func (b *bitset) setBytes(start uint64, bits []byte) uint64 {
	var top uint64
	for k, c := range bits {
		i := start + uint64(k)*8
		if c == 0 && b.pages[i/pageBits] == nil {
			continue
		}
		b.page(i / pageBits)[(i%pageBits)>>3] = c
		if c != 0 {
			top = i + 8 - uint64(trailingZeros(c))
		}
	}
	return top
}

func trailingZeros(c byte) int {
	n := 0
	for c&1 == 0 && n < 8 {
		c >>= 1
		n++
	}
	return n
}
