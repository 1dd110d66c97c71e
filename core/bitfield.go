package core

import (
	"encoding/binary"
	"math/bits"
)

// PageBytes is the size of one bitfield page: 8192 bits.
const PageBytes = 1024

const pageBits = PageBytes * 8

// Bitfield is a sparse set of bits kept in pages of PageBytes bytes. Bit i is
// byte i>>3 under mask 0x80>>(i&7), most significant bit first, as hypercore
// stores bitfields and sends them in Have messages. A Bitfield is not safe for
// concurrent use.
type Bitfield struct {
	pages map[uint64]*[PageBytes]byte
	ones  uint64 // bits set in all
	top   uint64 // one past the highest set bit ever set
}

// NewBitfield returns an empty bitfield.
func NewBitfield() *Bitfield {
	return &Bitfield{pages: map[uint64]*[PageBytes]byte{}}
}

// Get reports whether bit i is set.
func (b *Bitfield) Get(i uint64) bool {
	p := b.pages[i/pageBits]
	if p == nil {
		return false
	}
	j := i % pageBits
	return p[j>>3]&(0x80>>(j&7)) != 0
}

// Set sets bit i to v and reports whether it changed.
func (b *Bitfield) Set(i uint64, v bool) bool {
	if b.Get(i) == v {
		return false
	}
	n := i / pageBits
	p := b.pages[n]
	if p == nil {
		p = new([PageBytes]byte)
		b.pages[n] = p
	}
	j := i % pageBits
	if v {
		p[j>>3] |= 0x80 >> (j & 7)
		b.top = max(b.top, i+1)
		b.ones++
	} else {
		p[j>>3] &^= 0x80 >> (j & 7)
		b.ones--
	}
	return true
}

// Len returns one past the highest bit that was ever set.
func (b *Bitfield) Len() uint64 { return b.top }

// Count returns how many bits are set in [start, end).
func (b *Bitfield) Count(start, end uint64) uint64 {
	end = min(end, b.top)
	if start == 0 && end == b.top {
		return b.ones
	}
	var n uint64
	for i := start; i < end; {
		p := b.pages[i/pageBits]
		pageEnd := min(end, (i/pageBits+1)*pageBits)
		if p == nil {
			i = pageEnd
			continue
		}
		if i%8 == 0 && pageEnd-i >= 8 {
			n += uint64(bits.OnesCount8(p[(i%pageBits)>>3]))
			i += 8
			continue
		}
		if b.Get(i) {
			n++
		}
		i++
	}
	return n
}

// Bytes copies n bytes of the bitfield starting at byte offset start.
func (b *Bitfield) Bytes(start, n uint64) []byte {
	out := make([]byte, n)
	for k := uint64(0); k < n; {
		byteIdx := start + k
		pg, off := byteIdx/PageBytes, byteIdx%PageBytes
		chunk := min(n-k, PageBytes-off)
		if p := b.pages[pg]; p != nil {
			copy(out[k:k+chunk], p[off:off+chunk])
		}
		k += chunk
	}
	return out
}

// Page is one page of a bitfield as storage persists it.
type Page struct {
	Index uint64
	Bytes [PageBytes]byte
}

// LoadPage installs a page, replacing what was there.
func (b *Bitfield) LoadPage(pg Page) {
	p := pg.Bytes
	if old := b.pages[pg.Index]; old != nil {
		b.ones -= popcount(old)
	}
	b.ones += popcount(&p)
	b.pages[pg.Index] = &p
	for i := PageBytes - 1; i >= 0; i-- {
		if p[i] != 0 {
			bit := pg.Index*pageBits + uint64(i)*8 + 7 - uint64(bits.TrailingZeros8(p[i]))
			b.top = max(b.top, bit+1)
			break
		}
	}
}

// Compress returns the run-length encoded bits [start, start+length) as a
// Have message carries them. start must be a multiple of 8. Bits past the
// highest set one are zero and encode to nothing, so a huge length costs no
// memory.
func (b *Bitfield) Compress(start, length uint64) []byte {
	if start >= b.top {
		return EncodeRLE(nil)
	}
	length = min(length, b.top-start)
	return EncodeRLE(b.Bytes(start/8, (length+7)/8))
}

// pageEdit collects changes to a bitfield on copies of its pages, so that a
// batch can be committed before the live bitfield changes.
type pageEdit struct {
	src   *Bitfield
	pages map[uint64]*Page
}

func newPageEdit(src *Bitfield) *pageEdit {
	return &pageEdit{src: src, pages: map[uint64]*Page{}}
}

// set sets bit i on the copy of its page.
func (e *pageEdit) set(i uint64) {
	n := i / pageBits
	pg := e.pages[n]
	if pg == nil {
		pg = &Page{Index: n}
		if p := e.src.pages[n]; p != nil {
			pg.Bytes = *p
		}
		e.pages[n] = pg
	}
	j := i % pageBits
	pg.Bytes[j>>3] |= 0x80 >> (j & 7)
}

// list returns the edited pages.
func (e *pageEdit) list() []Page {
	out := make([]Page, 0, len(e.pages))
	for _, pg := range e.pages {
		out = append(out, *pg)
	}
	return out
}

func popcount(p *[PageBytes]byte) uint64 {
	var n int
	for i := 0; i < PageBytes; i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(p[i:]))
	}
	return uint64(n)
}
