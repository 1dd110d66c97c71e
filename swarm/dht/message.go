package dht

import "fmt"

// MessageType is the type field of a Message.
type MessageType uint64

// The three message types of dht-rpc.
const (
	TypeQuery    MessageType = 1
	TypeUpdate   MessageType = 2
	TypeResponse MessageType = 3
)

// ProtocolVersion is the version dht-rpc ≥ 4.8 writes in every message.
const ProtocolVersion = 1

// Message is one DHT datagram (dht-rpc's Message, proto2). A nil byte
// slice is an absent field; a non-nil empty one is present with zero
// length. Command and Error are written only when non-empty: JS reads an
// empty error as "no error" and an absent command as "".
type Message struct {
	Version     uint64
	Type        MessageType
	RID         uint64
	To          []byte // field 10: 6-byte peer
	ID          []byte // field 3: 32-byte sender id, absent when ephemeral
	Target      []byte // field 4
	CloserNodes []byte // field 5: n × 38-byte nodes
	Token       []byte // field 6: roundtripToken
	Command     string // field 7
	Error       string // field 8
	Value       []byte // field 9
}

// AppendEncode appends m in JS's field order: 11, 1, 2, 10, 3, 4, 5, 6, 7,
// 8, 9. Version is always written.
func (m *Message) AppendEncode(b []byte) []byte {
	b = appendUintField(b, 11, m.Version)
	b = appendUintField(b, 1, uint64(m.Type))
	b = appendUintField(b, 2, m.RID)
	for _, f := range [...]struct {
		num int
		v   []byte
	}{{10, m.To}, {3, m.ID}, {4, m.Target}, {5, m.CloserNodes}, {6, m.Token}} {
		if f.v != nil {
			b = appendBytesField(b, f.num, f.v)
		}
	}
	if m.Command != "" {
		b = appendBytesField(b, 7, []byte(m.Command))
	}
	if m.Error != "" {
		b = appendBytesField(b, 8, []byte(m.Error))
	}
	if m.Value != nil {
		b = appendBytesField(b, 9, m.Value)
	}
	return b
}

// Encode returns the encoding of m.
func (m *Message) Encode() []byte {
	return m.AppendEncode(make([]byte, 0, 64+len(m.CloserNodes)+len(m.Value)))
}

// DecodeMessage decodes one datagram. type and rid are required, and type
// must be one of the three known ones. The byte fields alias b.
func DecodeMessage(b []byte) (*Message, error) {
	m := &Message{}
	var haveType, haveRID bool
	r := fieldReader{b: b}
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("decode message: %w", err)
		}
		if !ok {
			break
		}
		switch f.num {
		case 1:
			haveType = true
		case 2:
			haveRID = true
		}
		if err := m.set(f); err != nil {
			return nil, fmt.Errorf("decode message: %w", err)
		}
	}
	if !haveType || !haveRID {
		return nil, fmt.Errorf("decode message: type and rid: %w", ErrMissingField)
	}
	if m.Type < TypeQuery || m.Type > TypeResponse {
		return nil, fmt.Errorf("decode message: type %d: %w", m.Type, ErrBadField)
	}
	return m, nil
}

func (m *Message) set(f field) error {
	switch f.num {
	case 11, 1, 2:
		if err := f.want(wireVarint); err != nil {
			return err
		}
		switch f.num {
		case 11:
			m.Version = f.v
		case 1:
			m.Type = MessageType(f.v)
		default:
			m.RID = f.v
		}
		return nil
	case 3, 4, 5, 6, 7, 8, 9, 10:
		if err := f.want(wireBytes); err != nil {
			return err
		}
		m.setBytes(f.num, present(f.bytes))
	}
	return nil
}

func (m *Message) setBytes(num int, v []byte) {
	switch num {
	case 3:
		m.ID = v
	case 4:
		m.Target = v
	case 5:
		m.CloserNodes = v
	case 6:
		m.Token = v
	case 7:
		m.Command = string(v)
	case 8:
		m.Error = string(v)
	case 9:
		m.Value = v
	case 10:
		m.To = v
	}
}

// Holepunch is the value of a _holepunch request: To asks the receiver to
// relay, From (set by the relay) asks it to answer that address.
type Holepunch struct {
	From []byte // field 2: 6-byte peer
	To   []byte // field 3: 6-byte peer
}

// Encode returns the encoding of h (field 2, then field 3).
func (h *Holepunch) Encode() []byte {
	var b []byte
	if h.From != nil {
		b = appendBytesField(b, 2, h.From)
	}
	if h.To != nil {
		b = appendBytesField(b, 3, h.To)
	}
	return present(b)
}

// DecodeHolepunch decodes a Holepunch value.
func DecodeHolepunch(b []byte) (*Holepunch, error) {
	h := &Holepunch{}
	err := eachField(b, func(f field) error {
		if f.num != 2 && f.num != 3 {
			return nil
		}
		if err := f.want(wireBytes); err != nil {
			return err
		}
		if f.num == 2 {
			h.From = present(f.bytes)
		} else {
			h.To = present(f.bytes)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode holepunch: %w", err)
	}
	return h, nil
}

// eachField calls fn for every field of b.
func eachField(b []byte, fn func(field) error) error {
	r := fieldReader{b: b}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}
