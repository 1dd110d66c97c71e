package store

import (
	"encoding/binary"
	"fmt"

	"github.com/hspd/hsp/core"
)

// Key prefixes. Every key of the database starts with one of these bytes;
// docs/storage.md draws the whole layout.
const (
	prefixMaster  = 'm' // m → master key (32 bytes)
	prefixVersion = 'v' // v → layout version (u64be)
	prefixNextID  = 'i' // i → next core id (u64be)
	prefixRecord  = 'k' // k ‖ public key → core record
	prefixDiscKey = 'd' // d ‖ discovery key → public key
	prefixCore    = 'c' // c ‖ core id (u64be) ‖ kind ‖ … → one core's data
	prefixTopic   = 'n' // n ‖ discovery key → remembered network configuration
	prefixSeed    = 's' // s ‖ public key → a core the daemon seeds
)

// Kinds of per-core keys, the byte after c ‖ core id.
const (
	kindHeader    = 'h' // → length ‖ byteLength (u64be each)
	kindBlock     = 'b' // ‖ block index → data
	kindNode      = 'n' // ‖ flat-tree index → hash ‖ size (u64be)
	kindSignature = 's' // ‖ length → 64-byte signature
	kindDataPage  = 'D' // ‖ page index → run-length encoded 1024-byte bitfield page
	kindTreePage  = 'T' // ‖ page index → run-length encoded 1024-byte bitfield page
)

// layoutVersion is written to key v when a database is created. A database
// with another version is refused, so a later layout can migrate explicitly.
// Version 1 (never released) stored bitfield pages raw; 2 run-length encodes
// them.
const layoutVersion = 2

const (
	nodeValueSize   = 32 + 8
	headerValueSize = 8 + 8
	coreKeyLen      = 1 + 8 + 1 + 8 // c ‖ id ‖ kind ‖ index
)

func metaKey(prefix byte) []byte { return []byte{prefix} }

func recordKey(k core.Key) []byte { return append([]byte{prefixRecord}, k[:]...) }

func discKey(d core.DiscoveryKey) []byte { return append([]byte{prefixDiscKey}, d[:]...) }

// corePrefix returns c ‖ id, the prefix of all of a core's keys.
func corePrefix(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixCore}, id)
}

// coreKey writes c ‖ id ‖ kind ‖ index into dst, which has room for coreKeyLen.
func coreKey(dst []byte, id uint64, kind byte, index uint64) {
	dst[0] = prefixCore
	binary.BigEndian.PutUint64(dst[1:], id)
	dst[9] = kind
	binary.BigEndian.PutUint64(dst[10:], index)
}

func headerKey(id uint64) []byte { return append(corePrefix(id), kindHeader) }

// kindBounds returns the key range holding every key of one kind of a core.
func kindBounds(id uint64, kind byte) (lower, upper []byte) {
	p := corePrefix(id)
	return append(p, kind), append(p[:9:9], kind+1)
}

// coreBounds returns the key range holding all of a core's data.
func coreBounds(id uint64) (lower, upper []byte) {
	return corePrefix(id), corePrefix(id + 1)
}

func encodeHeader(h core.Header) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, headerValueSize), h.Length)
	return binary.BigEndian.AppendUint64(v, h.ByteLength)
}

func decodeHeader(v []byte) (core.Header, error) {
	if len(v) != headerValueSize {
		return core.Header{}, fmt.Errorf("header of %d bytes: %w", len(v), core.ErrCorrupt)
	}
	return core.Header{Length: binary.BigEndian.Uint64(v), ByteLength: binary.BigEndian.Uint64(v[8:])}, nil
}

func putNode(dst []byte, n core.Node) {
	copy(dst, n.Hash[:])
	binary.BigEndian.PutUint64(dst[32:], n.Size)
}

func decodeNode(index uint64, v []byte) (core.Node, error) {
	if len(v) != nodeValueSize {
		return core.Node{}, fmt.Errorf("tree node %d of %d bytes: %w", index, len(v), core.ErrCorrupt)
	}
	n := core.Node{Index: index, Size: binary.BigEndian.Uint64(v[32:])}
	copy(n.Hash[:], v)
	return n, nil
}

// encodePage run-length encodes a bitfield page (bitfield-rle, as Have
// messages carry bitfields). A writer's pages are runs of set bits, so an
// append's two pages take a few bytes instead of 2 KiB: on the test
// machine a synced 1.4 KB WAL record costs half as much as a 3.4 KB one.
func encodePage(pg *core.Page) []byte { return core.EncodeRLE(pg.Bytes[:]) }

// decodePage reads a bitfield page stored under key k (c ‖ id ‖ kind ‖ page).
func decodePage(k, v []byte) (core.Page, error) {
	var pg core.Page
	if len(k) != coreKeyLen {
		return pg, fmt.Errorf("bitfield page key of %d bytes: %w", len(k), core.ErrCorrupt)
	}
	pg.Index = binary.BigEndian.Uint64(k[10:])
	b, err := core.DecodeRLE(v, core.PageBytes)
	if err != nil {
		return pg, fmt.Errorf("bitfield page %d: %w: %w", pg.Index, core.ErrCorrupt, err)
	}
	copy(pg.Bytes[:], b)
	return pg, nil
}
