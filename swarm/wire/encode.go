package wire

import (
	"encoding/binary"

	"github.com/hspd/hsp/core"
)

// Protobuf wire types used by the schema.
const (
	wireVarint = 0
	wireBytes  = 2
)

// The encoders write fields in field-number order, each one when it is set,
// as the JS protocol-buffers encoder does.

func appendTag(b []byte, num, wt uint64) []byte {
	return binary.AppendUvarint(b, num<<3|wt)
}

func appendUint(b []byte, num, v uint64) []byte {
	return binary.AppendUvarint(appendTag(b, num, wireVarint), v)
}

func appendOptUint(b []byte, num uint64, o OptUint64) []byte {
	if !o.Set {
		return b
	}
	return appendUint(b, num, o.Value)
}

func appendOptBool(b []byte, num uint64, o OptBool) []byte {
	if !o.Set {
		return b
	}
	var v uint64
	if o.Value {
		v = 1
	}
	return appendUint(b, num, v)
}

func appendBytes(b []byte, num uint64, v []byte) []byte {
	b = binary.AppendUvarint(appendTag(b, num, wireBytes), uint64(len(v)))
	return append(b, v...)
}

func appendOptBytes(b []byte, num uint64, v []byte) []byte {
	if v == nil {
		return b
	}
	return appendBytes(b, num, v)
}

func (m Open) appendBody(b []byte) []byte {
	b = appendBytes(b, 1, m.DiscoveryKey)
	return appendOptBytes(b, 2, m.Capability)
}

func (m Options) appendBody(b []byte) []byte {
	for _, e := range m.Extensions {
		b = binary.AppendUvarint(appendTag(b, 1, wireBytes), uint64(len(e)))
		b = append(b, e...)
	}
	return appendOptBool(b, 2, m.Ack)
}

func (m Status) appendBody(b []byte) []byte {
	b = appendOptBool(b, 1, m.Uploading)
	return appendOptBool(b, 2, m.Downloading)
}

func (m Have) appendBody(b []byte) []byte {
	b = appendUint(b, 1, m.Start)
	b = appendOptUint(b, 2, m.Length)
	b = appendOptBytes(b, 3, m.Bitfield)
	return appendOptBool(b, 4, m.Ack)
}

func (m Unhave) appendBody(b []byte) []byte {
	return appendOptUint(appendUint(b, 1, m.Start), 2, m.Length)
}

func (m Want) appendBody(b []byte) []byte {
	return appendOptUint(appendUint(b, 1, m.Start), 2, m.Length)
}

func (m Unwant) appendBody(b []byte) []byte {
	return appendOptUint(appendUint(b, 1, m.Start), 2, m.Length)
}

func (m Request) appendBody(b []byte) []byte {
	b = appendUint(b, 1, m.Index)
	b = appendOptUint(b, 2, m.Bytes)
	b = appendOptBool(b, 3, m.Hash)
	return appendOptUint(b, 4, m.Nodes)
}

func (m Cancel) appendBody(b []byte) []byte {
	b = appendUint(b, 1, m.Index)
	b = appendOptUint(b, 2, m.Bytes)
	return appendOptBool(b, 3, m.Hash)
}

func (m Data) appendBody(b []byte) []byte {
	b = appendUint(b, 1, m.Index)
	b = appendOptBytes(b, 2, m.Value)
	for _, n := range m.Nodes {
		b = appendNode(b, n)
	}
	return appendOptBytes(b, 4, m.Signature)
}

// appendNode writes a Data.Node as the length-delimited field 3.
func appendNode(b []byte, n core.Node) []byte {
	size := 1 + uvarintLen(n.Index) + 2 + len(n.Hash) + 1 + uvarintLen(n.Size)
	b = binary.AppendUvarint(appendTag(b, 3, wireBytes), uint64(size))
	b = appendUint(b, 1, n.Index)
	b = appendBytes(b, 2, n.Hash[:])
	return appendUint(b, 3, n.Size)
}

func (m Close) appendBody(b []byte) []byte {
	return appendOptBytes(b, 1, m.DiscoveryKey)
}

func (m Extension) appendBody(b []byte) []byte {
	return append(binary.AppendUvarint(b, m.ID), m.Payload...)
}

// uvarintLen is the length of v as a varint.
func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}
