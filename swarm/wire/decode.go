package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/hspd/hsp/core"
)

// Limits on what an Options message may announce. JS sets none; real peers
// announce a handful of short names.
const (
	MaxExtensions       = 128
	MaxExtensionNameLen = 256
)

// Decode parses the body of a frame of type t. Unknown protobuf fields are
// skipped; a missing required field, a wrong wire type or a truncated body
// is an error wrapping ErrMalformed. Byte slices in the result alias body.
func Decode(t Type, body []byte) (Message, error) {
	if t > TypeExtension || decoders[t] == nil {
		return nil, fmt.Errorf("decode %v: %w", t, ErrUnknownType)
	}
	m, err := decoders[t](body)
	if err != nil {
		return nil, fmt.Errorf("decode %v: %w", t, err)
	}
	return m, nil
}

var decoders = [16]func([]byte) (Message, error){
	TypeOpen: decodeOpen, TypeOptions: decodeOptions, TypeStatus: decodeStatus,
	TypeHave: decodeHave, TypeUnhave: decodeUnhave, TypeWant: decodeWant,
	TypeUnwant: decodeUnwant, TypeRequest: decodeRequest, TypeCancel: decodeCancel,
	TypeData: decodeData, TypeClose: decodeClose, TypeExtension: decodeExtension,
}

func decodeOpen(b []byte) (Message, error) {
	var m Open
	var seen bool
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.DiscoveryKey, err = p.bytes(wt)
			seen = true
		case 2:
			m.Capability, err = p.bytes(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, required(err, seen, "discoveryKey")
}

func decodeOptions(b []byte) (Message, error) {
	var m Options
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			return m.addExtension(p, wt)
		case 2:
			m.Ack, err = p.optBool(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, err
}

func (m *Options) addExtension(p *pbReader, wt uint64) error {
	name, err := p.bytes(wt)
	switch {
	case err != nil:
		return err
	case len(m.Extensions) == MaxExtensions:
		return malformed("more than %d extensions", MaxExtensions)
	case len(name) > MaxExtensionNameLen:
		return malformed("extension name of %d bytes, over %d", len(name), MaxExtensionNameLen)
	}
	m.Extensions = append(m.Extensions, string(name))
	return nil
}

func decodeStatus(b []byte) (Message, error) {
	var m Status
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.Uploading, err = p.optBool(wt)
		case 2:
			m.Downloading, err = p.optBool(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, err
}

func decodeHave(b []byte) (Message, error) {
	var m Have
	var seen bool
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.Start, err = p.uint(wt)
			seen = true
		case 2:
			m.Length, err = p.optUint(wt)
		case 3:
			m.Bitfield, err = p.bytes(wt)
		case 4:
			m.Ack, err = p.optBool(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, required(err, seen, "start")
}

// decodeRange reads the start/length pair shared by Unhave, Want and Unwant.
func decodeRange(b []byte) (start uint64, length OptUint64, err error) {
	var seen bool
	err = eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			start, err = p.uint(wt)
			seen = true
		case 2:
			length, err = p.optUint(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return start, length, required(err, seen, "start")
}

func decodeUnhave(b []byte) (Message, error) {
	start, length, err := decodeRange(b)
	return Unhave{Start: start, Length: length}, err
}

func decodeWant(b []byte) (Message, error) {
	start, length, err := decodeRange(b)
	return Want{Start: start, Length: length}, err
}

func decodeUnwant(b []byte) (Message, error) {
	start, length, err := decodeRange(b)
	return Unwant{Start: start, Length: length}, err
}

func decodeRequest(b []byte) (Message, error) {
	var m Request
	var seen bool
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.Index, err = p.uint(wt)
			seen = true
		case 2:
			m.Bytes, err = p.optUint(wt)
		case 3:
			m.Hash, err = p.optBool(wt)
		case 4:
			m.Nodes, err = p.optUint(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, required(err, seen, "index")
}

func decodeCancel(b []byte) (Message, error) {
	var m Cancel
	var seen bool
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.Index, err = p.uint(wt)
			seen = true
		case 2:
			m.Bytes, err = p.optUint(wt)
		case 3:
			m.Hash, err = p.optBool(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, required(err, seen, "index")
}

func decodeData(b []byte) (Message, error) {
	var m Data
	if n := countNodes(b); n > 0 {
		m.Nodes = make([]core.Node, 0, n)
	}
	var seen bool
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			m.Index, err = p.uint(wt)
			seen = true
		case 2:
			m.Value, err = p.bytes(wt)
		case 3:
			var n core.Node
			n, err = decodeNode(p, wt)
			m.Nodes = append(m.Nodes, n)
		case 4:
			m.Signature, err = p.bytes(wt)
		default:
			err = p.skip(wt)
		}
		return err
	})
	return m, required(err, seen, "index")
}

// countNodes counts the Data.nodes fields of a body, so that decodeData
// allocates exactly once; it gives up quietly on a malformed body.
func countNodes(b []byte) int {
	n := 0
	_ = eachField(b, func(p *pbReader, num, wt uint64) error {
		if num == 3 && wt == wireBytes {
			n++
		}
		return p.skip(wt)
	})
	return n
}

func decodeNode(p *pbReader, wt uint64) (core.Node, error) {
	var n core.Node
	b, err := p.bytes(wt)
	if err != nil {
		return n, err
	}
	var seen [3]bool
	err = eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		switch num {
		case 1:
			n.Index, err = p.uint(wt)
		case 2:
			err = p.hash(wt, &n.Hash)
		case 3:
			n.Size, err = p.uint(wt)
		default:
			return p.skip(wt)
		}
		seen[num-1] = true
		return err
	})
	err = required(err, seen[0], "node index")
	err = required(err, seen[1], "node hash")
	return n, required(err, seen[2], "node size")
}

func decodeClose(b []byte) (Message, error) {
	var m Close
	err := eachField(b, func(p *pbReader, num, wt uint64) (err error) {
		if num == 1 {
			m.DiscoveryKey, err = p.bytes(wt)
			return err
		}
		return p.skip(wt)
	})
	return m, err
}

// decodeExtension reads varint(id) || payload; the body is not protobuf.
func decodeExtension(b []byte) (Message, error) {
	id, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, malformed("bad extension id varint")
	}
	return Extension{ID: id, Payload: b[n:len(b):len(b)]}, nil
}

func required(err error, seen bool, name string) error {
	if err == nil && !seen {
		return malformed("missing required field %s", name)
	}
	return err
}
